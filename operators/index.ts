/**
 * city-ops operators: pure, I/O-free building blocks for event-time stream processing (watermarks, windows,
 * mergeable aggregates, joins, geo lookups, topology description). See docs/operators.md.
 */

export type { Aggregate, ResultOf, StateOf } from './aggregates/Aggregate.ts';
export {
  type AreaFeature,
  type AreaFeatureCollection,
  type AreaGeometry,
  DistrictIndex,
  type DistrictIndexOptions,
} from './geo/DistrictIndex.ts';
export { gcj02ToWgs84 } from './geo/gcj02ToWgs84.ts';
export { H3Proximity, type H3ProximityOptions } from './geo/H3Proximity.ts';
export { haversineMeters } from './geo/haversineMeters.ts';
export { type AggregateAllResult, aggregateAll } from './library/aggregates/aggregateAll.ts';
export {
  type ApproxDistinctCountOptions,
  approxDistinctCount,
  type HyperLogLogState,
} from './library/aggregates/approxDistinctCount.ts';
export { count } from './library/aggregates/count.ts';
export { distinctCount } from './library/aggregates/distinctCount.ts';
export { mapInput } from './library/aggregates/mapInput.ts';
export { max } from './library/aggregates/max.ts';
export { type MeanState, mean } from './library/aggregates/mean.ts';
export { min } from './library/aggregates/min.ts';
export {
  type QuantileSketchState,
  type QuantilesOptions,
  type QuantilesResult,
  quantiles,
} from './library/aggregates/quantiles.ts';
export { sum } from './library/aggregates/sum.ts';
export { h3Cell } from './library/geo/h3Cell.ts';
export {
  type GeoIntervalJoinOptions,
  GeoIntervalJoinProcessor,
  type LatLng,
} from './library/joins/GeoIntervalJoinProcessor.ts';
export { geoIntervalJoin } from './library/joins/geoIntervalJoin.ts';
export {
  type IntervalJoinOptions,
  type IntervalJoinOutput,
  IntervalJoinProcessor,
  type IntervalJoinStats,
  type JoinedRecord,
  type LateJoinRecord,
} from './library/joins/IntervalJoinProcessor.ts';
export { intervalJoin } from './library/joins/intervalJoin.ts';
export { type LookupJoinOptions, lookupJoin } from './library/joins/lookupJoin.ts';
export {
  type TableUpdate,
  VersionedTable,
  type VersionedTableOptions,
} from './library/joins/VersionedTable.ts';
export { type AssignWatermarksOptions, assignWatermarks } from './library/time/assignWatermarks.ts';
export { BoundedOutOfOrdernessWatermark } from './library/time/BoundedOutOfOrdernessWatermark.ts';
export {
  type PartitionWatermark,
  type SourcePartition,
  WatermarkCombiner,
  type WatermarkCombinerOptions,
} from './library/time/WatermarkCombiner.ts';
export type { SourceRecord } from './time/SourceRecord.ts';
export type { StreamInput } from './time/StreamInput.ts';
export { Watermark } from './time/Watermark.ts';
export { type NodeKind, type NodeOptions, Topology, type TopologyNode } from './topology/Topology.ts';
export { createWindowProcessor } from './windows/createWindowProcessor.ts';
export { HoppingWindows } from './windows/HoppingWindows.ts';
export { SessionWindowProcessor } from './windows/SessionWindowProcessor.ts';
export { SessionWindows } from './windows/SessionWindows.ts';
export { TimeWindowProcessor } from './windows/TimeWindowProcessor.ts';
export { TumblingWindows } from './windows/TumblingWindows.ts';
export type { LateRecord, TimeWindow, WindowOutput, WindowResult } from './windows/WindowOutput.ts';
export type {
  EmitPolicy,
  WindowProcessor,
  WindowProcessorOptions,
  WindowProcessorStats,
} from './windows/WindowProcessor.ts';
export type { WindowSpec } from './windows/WindowSpec.ts';
export { windowAggregate, windowsOf } from './windows/windowAggregate.ts';
