import { setTimeout as sleep } from 'node:timers/promises';
import type { createKafka } from '../../engine/connectors/kafka/client.ts';
import { processUsage } from '../benchStack.ts';

type KafkaAdmin = ReturnType<ReturnType<typeof createKafka>['admin']>;

/** One pipeline of bench:peers, run alone over the messages already published. */
export interface PeerRun {
  readonly name: string;
  readonly title: string;
  /** The processes whose CPU counts for this pipeline, by role; read again after `start`. */
  pids(): Record<string, number>;
  /** Untimed preparation: builds, checks. */
  prepare(): Promise<void>;
  /** The timed run starts here. */
  start(): Promise<void>;
  /** The consumer groups it reads the input with, and their topics: done means nothing left to read. */
  groups(): { groupId: string; topics: string[] }[];
  /** Whether what it read is all in its result (e.g. every landed row counted); undefined: nothing to check. */
  settled?(): Promise<boolean>;
  /** Events counted in its per-minute results so far. */
  total(): Promise<number>;
  /** Its result: events per `stream|district|window start (epoch ms)`. */
  windows(): Promise<Map<string, number>>;
  /** What it did with the records that break the contract: rejected by reason, or rows it landed. */
  badRecords(): Promise<{ rejected: Record<string, number> | null; landed?: number }>;
  stop(): Promise<void>;
  drop?(): Promise<void>;
}

export interface PeerMeasurement {
  /** From `start` until its result last changed. */
  readonly wallSeconds: number;
  /** Its result stopped changing before it counted what the published messages hold. */
  readonly incomplete: boolean;
  /** Why its result could no longer be read (a crashed server), if so. */
  readonly failure: string | null;
  readonly counted: number;
  /** CPU seconds by process over the same span. */
  readonly cpuSeconds: Record<string, number>;
  /** Peak resident memory of the processes the pipeline started; resident memory of the shared ones. */
  readonly memoryMb: Record<string, number>;
}

/** Messages its groups have not committed yet, over every partition of their topics. */
async function lagOf(admin: KafkaAdmin, peer: PeerRun): Promise<number> {
  let lag = 0;
  for (const { groupId, topics } of peer.groups()) {
    const committed = await admin.fetchOffsets({ groupId, topics });
    for (const topic of topics) {
      const at = new Map(
        (committed.find((c) => c.topic === topic)?.partitions ?? []).map((p) => [
          p.partition,
          Number(p.offset),
        ]),
      );
      for (const end of await admin.fetchTopicOffsets(topic)) {
        const position = at.get(end.partition) ?? -1;
        lag += Number(end.high) - (position >= 0 ? position : Number(end.low));
      }
    }
  }
  return lag;
}

/**
 * Starts a pipeline and waits until it has committed every input message and its result has not changed
 * for `quietSeconds`, or `timeoutSeconds`. Its time and CPU are taken at the last change, so the quiet
 * wait itself is not counted.
 */
export async function measurePeer(
  peer: PeerRun,
  expected: number,
  options: {
    admin: KafkaAdmin;
    quietSeconds: number;
    timeoutSeconds: number;
    say: (line: string) => void;
  },
): Promise<PeerMeasurement> {
  const shared = peer.pids();
  const before = Object.fromEntries(
    Object.entries(shared).map(([role, pid]) => [role, processUsage(pid).cpuSeconds]),
  );
  const started = performance.now();
  await peer.start();
  let counted = 0;
  let lastChange = performance.now();
  let atChange = usageOf(peer.pids());
  let lastSay = 0;
  let failure: string | null = null;
  for (;;) {
    await sleep(1_000);
    const now = performance.now();
    let total: number;
    try {
      total = await peer.total();
    } catch (error) {
      failure = (error as Error).message;
      options.say(`${peer.name}: its result can no longer be read (${failure}); stopping it`);
      break;
    }
    if (total !== counted) {
      counted = total;
      lastChange = now;
      atChange = usageOf(peer.pids());
    }
    if (
      now - lastChange > options.quietSeconds * 1000 &&
      (await lagOf(options.admin, peer)) === 0 &&
      ((await peer.settled?.()) ?? true)
    )
      break;
    if (now - started > options.timeoutSeconds * 1000) {
      options.say(`${peer.name}: no complete result after ${options.timeoutSeconds} s; stopping it`);
      break;
    }
    if (now - lastSay > 5_000) {
      options.say(
        `${peer.name}: ${counted.toLocaleString('en')} of ${expected.toLocaleString('en')} events counted`,
      );
      lastSay = now;
    }
  }
  const cpuSeconds = Object.fromEntries(
    Object.entries(atChange).map(([role, u]) => [role, round2(u.cpuSeconds - (before[role] ?? 0))]),
  );
  const memoryMb = Object.fromEntries(
    Object.entries(atChange).map(([role, u]) => [role, Math.round(role in shared ? u.rssMb : u.peakRssMb)]),
  );
  return {
    wallSeconds: round2((lastChange - started) / 1000),
    incomplete: counted < expected,
    failure,
    counted,
    cpuSeconds,
    memoryMb,
  };
}

function usageOf(pids: Record<string, number>) {
  return Object.fromEntries(Object.entries(pids).map(([role, pid]) => [role, processUsage(pid)]));
}

const round2 = (n: number) => Math.round(n * 100) / 100;
