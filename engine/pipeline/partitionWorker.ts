import { performance } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';
import type { StreamName } from '../contract/topics.ts';
import { CityOpsError } from '../errors.ts';
import type { BatchTask } from './batchWorker.ts';
import {
  type BatchCounts,
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
  | { readonly op: 'drain'; readonly key: string; readonly close: boolean };

/** The partition's state after a task, for the main thread's idleness and backpressure decisions. */
export interface PartitionStatus {
  readonly watermark: number;
  readonly maxEventTime: number;
  readonly nextOffset: number | undefined;
  readonly bufferedBytes: number;
}

/** The reply to a batch: the status and what to count. */
export interface BatchReply extends PartitionStatus, BatchCounts {}

export interface DrainReply extends PartitionStatus {
  readonly drain: PipelineDrain;
}

/** Every reply says how long this thread has spent running tasks in all, ms: its busy time. */
export type PartitionReply = (PartitionStatus | BatchReply | DrainReply) & { readonly busyMs: number };

const pipelines = new Map<string, PartitionPipeline>();
/** Partitions whose batch failed: nothing more is applied or drained for them (the engine stops). */
const broken = new Map<string, string>();

/**
 * Time spent in tasks, ms. Measured here rather than by the event loop's utilization: piscina's workers wait
 * for work inside a blocking `Atomics.wait`, which the event loop counts as busy.
 */
let busyMs = 0;

/** Runs one task in the worker that owns the partition. */
export function runPartitionTask(task: PartitionTask): PartitionReply {
  const started = performance.now();
  try {
    const reply = run(task);
    busyMs += performance.now() - started;
    return { ...reply, busyMs };
  } catch (error) {
    busyMs += performance.now() - started;
    throw error;
  }
}

function run(task: PartitionTask): PartitionStatus | BatchReply | DrainReply {
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
  try {
    switch (task.op) {
      case 'batch':
        return batchReply(pipeline, task.batch);
      case 'advance':
        pipeline.advanceWatermark(task.watermark);
        return statusOf(pipeline);
      case 'drain': {
        if (task.close) pipelines.delete(task.key);
        const drain = pipeline.drain();
        return { ...statusOf(pipeline), drain };
      }
    }
  } catch (error) {
    // Its state may hold half of a batch or of a watermark move: nothing may be drained or committed from
    // it again. A new assignment (`open`) starts over from the committed offset.
    broken.set(task.key, (error as Error).message);
    pipelines.delete(task.key);
    throw error;
  }
}

function owned(key: string): PartitionPipeline {
  const failure = broken.get(key);
  if (failure !== undefined)
    throw new CityOpsError(
      'INVARIANT_BROKEN',
      `${key}: an earlier task of this partition failed (${failure})`,
    );
  const pipeline = pipelines.get(key);
  if (!pipeline)
    throw new CityOpsError(
      'INVARIANT_BROKEN',
      `${key}: no state in worker thread ${threadId}, which holds ${[...pipelines.keys()].join(', ') || 'none'}`,
    );
  return pipeline;
}

function batchReply(pipeline: PartitionPipeline, batch: BatchTask): BatchReply {
  const counts = pipeline.apply(batch); // before the status: the reply says where the partition is after it
  return { ...statusOf(pipeline), ...counts };
}

function statusOf(pipeline: PartitionPipeline): PartitionStatus {
  return {
    watermark: pipeline.watermark,
    maxEventTime: pipeline.maxEventTime,
    nextOffset: pipeline.nextOffset,
    bufferedBytes: pipeline.bufferedBytes,
  };
}
