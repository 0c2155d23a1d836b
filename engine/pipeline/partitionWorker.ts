import { performance } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';
import type { StreamName } from '../contract/topics.ts';
import { CityOpsError } from '../errors.ts';
import { type BatchTask, processBatch } from './batchWorker.ts';
import {
  type CommitMetadata,
  PartitionPipeline,
  type PipelineDrain,
  type WindowTiming,
} from './partitionPipeline.ts';

/**
 * What the engine's main thread asks of the worker thread that owns a partition. A partition's tasks go to
 * one worker and run there one at a time in the order sent (see `PartitionWorkers`), so its state needs no
 * lock and no copy crosses threads except the batch going in and the drain coming out.
 */
export type PartitionTask =
  | {
      readonly op: 'open';
      readonly key: string;
      readonly stream: StreamName;
      readonly topic: string;
      readonly partition: number;
      readonly timing: WindowTiming;
      readonly restored: CommitMetadata | undefined;
      readonly revisionBase: number;
    }
  | { readonly op: 'batch'; readonly key: string; readonly batch: BatchTask }
  | { readonly op: 'advance'; readonly key: string; readonly watermark: number }
  | { readonly op: 'drain'; readonly key: string; readonly close: boolean }
  | { readonly op: 'usage' };

/** The partition's state after a task, for the main thread's idleness and backpressure decisions. */
export interface PartitionStatus {
  readonly watermark: number;
  readonly maxEventTime: number;
  readonly nextOffset: number | undefined;
  readonly bufferedBytes: number;
}

/** The reply to a batch: the status and what to count. */
export interface BatchReply extends PartitionStatus {
  readonly accepted: number;
  /** Dead letters of the batch by reason. */
  readonly deadLetters: Readonly<Record<string, number>>;
}

export interface DrainReply extends PartitionStatus {
  readonly drain: PipelineDrain;
}

/** CPU time of this worker thread's event loop: busy and idle ms since the thread started. */
export interface WorkerUsage {
  readonly activeMs: number;
  readonly idleMs: number;
}

export type PartitionReply = PartitionStatus | BatchReply | DrainReply | WorkerUsage;

const pipelines = new Map<string, PartitionPipeline>();
/** Partitions whose batch failed: nothing more is applied or drained for them (the engine stops). */
const broken = new Map<string, string>();

/** Runs one task in the worker that owns the partition. */
export function runPartitionTask(task: PartitionTask): PartitionReply {
  if (task.op === 'usage') {
    const { active, idle } = performance.eventLoopUtilization();
    return { activeMs: active, idleMs: idle };
  }
  if (task.op === 'open') {
    broken.delete(task.key);
    const pipeline = new PartitionPipeline(
      task.stream,
      task.topic,
      task.partition,
      task.timing,
      task.restored,
      task.revisionBase,
    );
    pipelines.set(task.key, pipeline);
    return statusOf(pipeline);
  }
  const pipeline = owned(task.key);
  switch (task.op) {
    case 'batch':
      return applyBatch(task.key, pipeline, task.batch);
    case 'advance':
      pipeline.advanceWatermark(task.watermark);
      return statusOf(pipeline);
    case 'drain': {
      if (task.close) pipelines.delete(task.key);
      const drain = pipeline.drain();
      return { ...statusOf(pipeline), drain };
    }
  }
}

function owned(key: string): PartitionPipeline {
  const failure = broken.get(key);
  if (failure !== undefined)
    throw new CityOpsError('INVARIANT_BROKEN', `${key}: an earlier batch failed (${failure})`);
  const pipeline = pipelines.get(key);
  if (!pipeline)
    throw new CityOpsError(
      'INVARIANT_BROKEN',
      `${key}: no state in worker thread ${threadId}, which holds ${[...pipelines.keys()].join(', ') || 'none'}`,
    );
  return pipeline;
}

function applyBatch(key: string, pipeline: PartitionPipeline, batch: BatchTask): BatchReply {
  try {
    const result = processBatch(batch);
    pipeline.apply(result);
    const deadLetters: Record<string, number> = {};
    for (const letter of result.deadLetters)
      deadLetters[letter.reason] = (deadLetters[letter.reason] ?? 0) + 1;
    return { ...statusOf(pipeline), accepted: result.accepted.count, deadLetters };
  } catch (error) {
    // Its state may hold half of this batch: it must not be drained or committed from again.
    broken.set(key, (error as Error).message);
    pipelines.delete(key);
    throw error;
  }
}

function statusOf(pipeline: PartitionPipeline): PartitionStatus {
  return {
    watermark: pipeline.watermark,
    maxEventTime: pipeline.maxEventTime,
    nextOffset: pipeline.nextOffset,
    bufferedBytes: pipeline.bufferedBytes,
  };
}
