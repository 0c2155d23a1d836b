import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_REASONS, decodeRecord, recordClock } from '../../../engine/contract/decodeRecord.ts';
import type { StreamName } from '../../../engine/contract/topics.ts';
import { processBatch } from '../../../engine/pipeline/batchWorker.ts';
import { packTask } from '../../../engine/pipeline/packTask.ts';

const NOW = Date.UTC(2026, 11, 3, 8, 0, 0);
const streams = fc.constantFrom<StreamName>('transport', 'events', 'population');

/** Near-valid records: every field of every stream, each value valid, wrong, or hostile. */
const nearValid = fc
  .record(
    {
      id: fc.oneof(fc.constant('r-1'), fc.string({ maxLength: 6 }), fc.constant('a\u202eb')),
      ts: fc.oneof(
        fc.constant(NOW - 60_000),
        fc.integer(),
        fc.double(),
        fc.constant('2026-12-03T08:00:00Z'),
        fc.string(),
      ),
      vehicle: fc.oneof(fc.constant('B-1'), fc.string({ maxLength: 4 })),
      mode: fc.constantFrom('bus', 'metro', 'x'),
      category: fc.constantFrom('fire', 'flooding', 'nope'),
      severity: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.double()),
      status: fc.constantFrom('open', 'closed', ''),
      lat: fc.oneof(fc.constant(22.54), fc.double(), fc.constant(0)),
      lon: fc.oneof(fc.constant(114.05), fc.double(), fc.constant(0)),
      h3: fc.oneof(fc.constant('88411c1a8bfffff'), fc.stringMatching(/^[0-9a-f]{15}$/), fc.string()),
      present: fc.oneof(fc.nat(), fc.integer(), fc.double()),
      inflow: fc.nat(),
      outflow: fc.nat(),
      description: fc.string({ maxLength: 50 }),
      reporter: fc.anything(),
    },
    { requiredKeys: [] },
  )
  .map((r) => JSON.stringify(r));
const value = fc.oneof(
  fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b)),
  fc.json({ maxDepth: 4 }).map((j) => Buffer.from(j)),
  nearValid.map((j) => Buffer.from(j)),
  fc.constant(null),
);

describe('hostile records at the decoder and the worker (property)', () => {
  it('decodeRecord answers every input with a record or a dead-letter reason, and never throws', () => {
    fc.assert(
      fc.property(
        streams,
        value,
        fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 45 })),
        (stream, bytes, ts) => {
          const result = decodeRecord(stream, bytes, ts, recordClock(NOW));
          if (!result.ok) expect(DEAD_LETTER_REASONS).toContain(result.reason);
          else expect(result.ts).toBeLessThanOrEqual(NOW + 120_000);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('processBatch accounts for every message of a hostile batch: accepted or dead-lettered, none lost', () => {
    fc.assert(
      fc.property(
        streams,
        fc.array(fc.tuple(value, fc.option(fc.uint8Array({ maxLength: 12 }))), { maxLength: 40 }),
        (stream, items) => {
          const messages = items.map(([v, key], offset) => ({
            topic: `city.${stream}`,
            partition: 0,
            offset,
            timestamp: offset % 3 === 0 ? 0 : NOW,
            key: key ?? null,
            value: v,
            generation: 1,
          }));
          const result = processBatch(packTask(stream, `city.${stream}`, 0, messages));
          expect(result.accepted.count + result.deadLetters.length).toBe(messages.length);
          const seen = [...result.accepted.offsets, ...result.deadLetters.map((d) => d.offset)].sort(
            (a, b) => a - b,
          );
          expect(seen).toEqual(messages.map((m) => m.offset));
          for (const d of result.deadLetters) expect(DEAD_LETTER_REASONS).toContain(d.reason);
        },
      ),
      { numRuns: 300 },
    );
  });
});
