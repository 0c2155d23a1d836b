import type { SourceRecord } from './SourceRecord.ts';
import type { Watermark } from './Watermark.ts';

/**
 * What the event-time operators (`windowAggregate`, `intervalJoin`) accept: single records, batches (arrays,
 * the fast path: one call into the core per array) and watermarks.
 *
 * @example
 * const input$: Observable<StreamInput<Gps>> = merge(batches$, watermarks$);
 */
export type StreamInput<T> = SourceRecord<T> | readonly SourceRecord<T>[] | Watermark;
