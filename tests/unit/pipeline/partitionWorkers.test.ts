import { afterEach, describe, expect, it } from 'vitest';
import type { SourceMessage } from '../../../engine/connectors/kafka/source.ts';
import { packTask } from '../../../engine/pipeline/packTask.ts';
import { PartitionWorkers } from '../../../engine/pipeline/partitionWorkers.ts';

const TIMING = { windowSizeMs: 60_000, graceMs: 5_000, outOfOrdernessMs: 5_000 };
const TOPIC = 'city.transport';

function message(partition: number, offset: number, ts: number): SourceMessage {
  const value = {
    id: `t-${partition}-${offset}`,
    ts,
    vehicle: `bus-${offset % 7}`,
    mode: 'bus',
    lat: 22.54,
    lon: 114.05,
  };
  return {
    topic: TOPIC,
    partition,
    offset,
    timestamp: ts,
    key: Buffer.from(value.vehicle),
    value: Buffer.from(JSON.stringify(value)),
    generation: 1,
  };
}

function batch(partition: number, from: number, size: number, t0: number) {
  const messages = Array.from({ length: size }, (_, i) =>
    message(partition, from + i, t0 + (from + i) * 1_000),
  );
  return packTask('transport', TOPIC, partition, messages);
}

describe('PartitionWorkers (real piscina threads)', () => {
  let workers: PartitionWorkers | undefined;
  afterEach(async () => {
    await workers?.destroy();
    workers = undefined;
  });

  it('runs each partition on one worker, in the order sent, even when nothing is awaited in between', async () => {
    workers = new PartitionWorkers(2, TIMING, 0);
    const t0 = Date.now() - 3_600_000;
    const keys = [0, 1, 2, 3].map((p) => `${TOPIC}:${p}`);
    // Opens, 40 batches per partition and drains, all sent at once: a task overtaking another would fail
    // (a batch before its partition is opened, or out of offset order).
    const opened = keys.map((key, p) =>
      workers!.open(key, { stream: 'transport', topic: TOPIC, partition: p, restored: undefined }),
    );
    const replies = keys.map((key, p) =>
      Array.from({ length: 40 }, (_, b) => workers!.batch(key, batch(p, b * 25, 25, t0))),
    );
    const drains = keys.map((key) => workers!.drain(key));
    await Promise.all(opened);
    for (const perPartition of replies) {
      const offsets = (await Promise.all(perPartition)).map((r) => r.nextOffset);
      expect(offsets).toEqual(Array.from({ length: 40 }, (_, b) => (b + 1) * 25));
    }
    for (const reply of await Promise.all(drains)) {
      expect(reply.drain.applied).toBe(1_000);
      expect(reply.drain.commit?.offset).toBeLessThanOrEqual(1_000);
    }
    expect(new Set(keys.map((k) => workers!.ownerOf(k)))).toEqual(new Set([0, 1]));
    expect(workers.busySeconds().every((s) => s > 0)).toBe(true);
  });

  it('after a batch fails, its partition refuses every later task; the others go on', async () => {
    workers = new PartitionWorkers(1, TIMING, 0);
    const t0 = Date.now() - 3_600_000;
    await workers.open(`${TOPIC}:0`, {
      stream: 'transport',
      topic: TOPIC,
      partition: 0,
      restored: undefined,
    });
    await workers.open(`${TOPIC}:1`, {
      stream: 'transport',
      topic: TOPIC,
      partition: 1,
      restored: undefined,
    });
    await workers.batch(`${TOPIC}:0`, batch(0, 10, 5, t0));
    // Offsets 0-4 after 10-14: the partition's graph refuses a batch out of order.
    await expect(workers.batch(`${TOPIC}:0`, batch(0, 0, 5, t0))).rejects.toThrow(/applied after offset 14/);
    await expect(workers.drain(`${TOPIC}:0`)).rejects.toThrow(/an earlier task of this partition failed/);
    await expect(workers.batch(`${TOPIC}:0`, batch(0, 15, 5, t0))).rejects.toThrow(
      /an earlier task of this partition failed/,
    );
    expect((await workers.batch(`${TOPIC}:1`, batch(1, 0, 5, t0))).accepted).toBe(5);
  });
});
