/**
 * city-ops operators: pure, I/O-free building blocks for event-time stream processing (watermarks, windows,
 * mergeable aggregates, joins, geo lookups, topology description). See docs/operators.md.
 */

export type { Aggregate, ResultOf, StateOf } from './aggregates/Aggregate.ts';
export { type AggregateAllResult, aggregateAll } from './aggregates/aggregateAll.ts';
export {
  type ApproxDistinctCountOptions,
  approxDistinctCount,
  type HyperLogLogState,
} from './aggregates/approxDistinctCount.ts';
export { count } from './aggregates/count.ts';
export { distinctCount } from './aggregates/distinctCount.ts';
export { mapInput } from './aggregates/mapInput.ts';
export { max } from './aggregates/max.ts';
export { type MeanState, mean } from './aggregates/mean.ts';
export { min } from './aggregates/min.ts';
export {
  type QuantileSketchState,
  type QuantilesOptions,
  type QuantilesResult,
  quantiles,
} from './aggregates/quantiles.ts';
export { sum } from './aggregates/sum.ts';
export {
  type AreaFeature,
  type AreaFeatureCollection,
  type AreaGeometry,
  DistrictIndex,
  type DistrictIndexOptions,
} from './geo/DistrictIndex.ts';
export { gcj02ToWgs84 } from './geo/gcj02ToWgs84.ts';
export { H3Proximity, type H3ProximityOptions } from './geo/H3Proximity.ts';
export { h3Cell } from './geo/h3Cell.ts';
export { haversineMeters } from './geo/haversineMeters.ts';
export {
  type GeoIntervalJoinOptions,
  GeoIntervalJoinProcessor,
  type LatLng,
} from './joins/GeoIntervalJoinProcessor.ts';
export { geoIntervalJoin } from './joins/geoIntervalJoin.ts';
export {
  type IntervalJoinOptions,
  type IntervalJoinOutput,
  IntervalJoinProcessor,
  type IntervalJoinStats,
  type JoinedRecord,
  type LateJoinRecord,
} from './joins/IntervalJoinProcessor.ts';
export { intervalJoin } from './joins/intervalJoin.ts';
export { type LookupJoinOptions, lookupJoin } from './joins/lookupJoin.ts';
export { type TableUpdate, VersionedTable, type VersionedTableOptions } from './joins/VersionedTable.ts';
export { type AssignWatermarksOptions, assignWatermarks } from './time/assignWatermarks.ts';
export { BoundedOutOfOrdernessWatermark } from './time/BoundedOutOfOrdernessWatermark.ts';
export type { SourceRecord } from './time/SourceRecord.ts';
export type { StreamInput } from './time/StreamInput.ts';
export { Watermark } from './time/Watermark.ts';
export {
  type PartitionWatermark,
  type SourcePartition,
  WatermarkCombiner,
  type WatermarkCombinerOptions,
} from './time/WatermarkCombiner.ts';
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
