import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newClusterId } from '../../../engine/stack/kafkaService.ts';

describe('KRaft cluster id', () => {
  it('is 22 URL-safe base64 characters that never start with a dash', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 16, maxLength: 16 }), { minLength: 1, maxLength: 4 }),
        (draws) => {
          // The last draw is forced to a safe first byte, so the loop always ends within the draws.
          const queue = [...draws.slice(0, -1), Uint8Array.of(0, ...draws.at(-1)!.slice(1))];
          const id = newClusterId(() => Buffer.from(queue.shift()!));
          expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
        },
      ),
    );
  });

  it('draws again when the id would start with a dash (first byte 0xf8..0xfb)', () => {
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0x01)];
    expect(draws[0]!.toString('base64url').startsWith('-')).toBe(true);
    expect(newClusterId(() => draws.shift()!)).toBe(Buffer.alloc(16, 0x01).toString('base64url'));
  });
});
