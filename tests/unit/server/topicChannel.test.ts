import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CatchupMessage, DeltaMessage, SnapshotMessage } from '../../../engine/server/protocol.ts';
import { TopicChannel } from '../../../engine/server/topicChannel.ts';

type Op = { kind: 'up'; key: string; value: number } | { kind: 'rm'; key: string } | { kind: 'flush' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('up' as const),
    key: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
    value: fc.integer(),
  }),
  fc.record({ kind: fc.constant('rm' as const), key: fc.constantFrom('a', 'b', 'c', 'd', 'e') }),
  fc.constant({ kind: 'flush' as const }),
);

function applyChanges(state: Map<string, unknown>, up: Array<[string, unknown]>, rm: string[]): void {
  for (const key of rm) state.delete(key);
  for (const [key, value] of up) state.set(key, value);
}

describe('TopicChannel', () => {
  it('snapshot at seq S plus the deltas after it equals the full state at every seq', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const channel = new TopicChannel('t');
        const truth = new Map<string, unknown>();
        // Every snapshot taken along the way, each replayed forward with the later deltas.
        const clients: Array<Map<string, unknown>> = [];
        let now = 0;
        for (const o of ops) {
          now += 1;
          if (o.kind === 'up') {
            channel.upsert(o.key, o.value, now);
            truth.set(o.key, o.value);
          } else if (o.kind === 'rm') {
            channel.remove(o.key, now);
            truth.delete(o.key);
          } else {
            const payload = channel.flush(now);
            if (payload) {
              const delta = JSON.parse(payload) as DeltaMessage;
              expect(delta.seq).toBe(channel.seq);
              for (const client of clients) applyChanges(client, delta.up, delta.rm);
            }
            for (const client of clients) expect(client).toEqual(truth);
            const snapshot = JSON.parse(channel.snapshot(now)) as SnapshotMessage;
            expect(snapshot.seq).toBe(channel.seq);
            expect(new Map(snapshot.entities)).toEqual(truth);
            clients.push(new Map(snapshot.entities));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a snapshot taken with changes pending is the state at the last flushed seq', () => {
    const channel = new TopicChannel('t');
    channel.upsert('a', 1, 0);
    channel.flush(1);
    channel.upsert('a', 2, 2);
    channel.upsert('b', 3, 2);
    channel.remove('a', 3);
    const snapshot = JSON.parse(channel.snapshot(4)) as SnapshotMessage;
    expect(snapshot.seq).toBe(1);
    expect(snapshot.entities).toEqual([['a', 1]]);
    const delta = JSON.parse(channel.flush(5)!) as DeltaMessage;
    expect(delta).toMatchObject({ seq: 2, up: [['b', 3]], rm: ['a'], src: 2 });
  });

  it('a catch-up from any retained seq brings a client to the current state (latest value wins)', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), fc.nat(), (ops, pick) => {
        const channel = new TopicChannel('t');
        const states: Array<Map<string, unknown>> = [new Map()];
        const truth = new Map<string, unknown>();
        let now = 0;
        for (const o of [...ops, { kind: 'flush' } as Op]) {
          now += 1;
          if (o.kind === 'up') {
            channel.upsert(o.key, o.value, now);
            truth.set(o.key, o.value);
          } else if (o.kind === 'rm') {
            channel.remove(o.key, now);
            truth.delete(o.key);
          } else if (channel.flush(now)) states.push(new Map(truth));
        }
        const since = pick % states.length;
        const catchup = channel.catchupSince(since, now);
        if (since === channel.seq) {
          expect(catchup).toBeNull();
          return;
        }
        const message = JSON.parse(catchup!) as CatchupMessage;
        expect(message).toMatchObject({ type: 'catchup', from: since, seq: channel.seq });
        const client = new Map(states[since]);
        applyChanges(client, message.up, message.rm);
        expect(client).toEqual(truth);
        // Compacted: each key at most once.
        const keys = [...message.up.map(([k]) => k), ...message.rm];
        expect(new Set(keys).size).toBe(keys.length);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a bounded resume buffer and answers "too old" with undefined (send a snapshot)', () => {
    const channel = new TopicChannel('t', { maxDeltas: 10, maxBytes: 1_000_000 });
    for (let i = 1; i <= 50; i += 1) {
      channel.upsert(`k${i % 7}`, i, i);
      channel.flush(i);
    }
    expect(channel.seq).toBe(50);
    expect(channel.oldestResumableSeq).toBe(40);
    expect(channel.catchupSince(39, 51)).toBeUndefined();
    expect(channel.catchupSince(40, 51)).toBeTypeOf('string');
    expect(channel.catchupSince(51, 51)).toBeUndefined();

    const bytes = new TopicChannel('t', { maxDeltas: 1000, maxBytes: 2000 });
    for (let i = 0; i < 200; i += 1) {
      bytes.upsert('big', 'x'.repeat(300), i);
      bytes.flush(i);
    }
    expect(bytes.retainedByteCount).toBeLessThanOrEqual(2000);
  });
});
