import { describe, expect, it } from 'vitest';
import { type PackedMessages, unpackMessages } from '../../../engine/connectors/kafka/source.ts';

/** Packs messages the way the patched client's ToPackedV8Object does (patches/). */
function pack(
  messages: ReadonlyArray<{
    topic: string;
    partition: number;
    offset: number;
    timestamp: number;
    key: string | null;
    value: string | null;
  }>,
): PackedMessages {
  const n = messages.length;
  const numbers = new ArrayBuffer(n * (8 + 8 + 4 * 4));
  const offsets = new Float64Array(numbers, 0, n);
  const timestamps = new Float64Array(numbers, 8 * n, n);
  const ints = new Int32Array(numbers, 16 * n, 4 * n);
  const topics: string[] = [];
  const keys: Buffer[] = [];
  const values: Buffer[] = [];
  messages.forEach((m, i) => {
    if (!topics.includes(m.topic)) topics.push(m.topic);
    offsets[i] = m.offset;
    timestamps[i] = m.timestamp;
    ints[i] = m.partition;
    ints[n + i] = topics.indexOf(m.topic);
    ints[2 * n + i] = m.key === null ? -1 : Buffer.byteLength(m.key);
    ints[3 * n + i] = m.value === null ? -1 : Buffer.byteLength(m.value);
    if (m.key !== null) keys.push(Buffer.from(m.key));
    if (m.value !== null) values.push(Buffer.from(m.value));
  });
  return { count: n, topics, numbers, keys: Buffer.concat(keys), values: Buffer.concat(values) };
}

describe('unpackMessages (the packed consume of the patched Kafka client)', () => {
  it('gives back every message in order, with null and empty keys and values, across topics', () => {
    const input = [
      {
        topic: 'city.transport',
        partition: 3,
        offset: 41,
        timestamp: 1_764_000_000_123,
        key: 'bus-7',
        value: '{"a":1}',
      },
      {
        topic: 'city.events',
        partition: 0,
        offset: 2 ** 40,
        timestamp: -1,
        key: null,
        value: '{"b":"深圳"}',
      },
      { topic: 'city.transport', partition: 5, offset: 0, timestamp: 0, key: '', value: null },
      { topic: 'city.population', partition: 1, offset: 7, timestamp: 5, key: '8841', value: '' },
      { topic: 'city.transport', partition: 3, offset: 42, timestamp: 6, key: 'bus-7', value: 'x' },
    ];
    const out = unpackMessages(pack(input));
    expect(
      out.map((m) => ({
        topic: m.topic,
        partition: m.partition,
        offset: m.offset,
        timestamp: m.timestamp,
        key: m.key === null ? null : Buffer.from(m.key).toString('utf8'),
        value: m.value === null ? null : m.value.toString('utf8'),
        generation: m.generation,
      })),
    ).toEqual(input.map((m) => ({ ...m, generation: 0 })));
  });

  it('an empty consume gives no messages', () => {
    expect(unpackMessages(pack([]))).toEqual([]);
  });
});
