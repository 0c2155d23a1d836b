import { Observable, type OperatorFunction } from 'rxjs';
import { requireFunction, requireOneOf } from '../../optionInternals.ts';
import type { SourceRecord } from '../../time/SourceRecord.ts';
import { type TableUpdate, VersionedTable, type VersionedTableOptions } from './VersionedTable.ts';

export interface LookupJoinOptions<T, K, V, R> extends VersionedTableOptions {
  /** The reference key of a record (e.g. its legal-person id). */
  readonly key: (record: SourceRecord<T>) => K;
  /** Builds the output from the record and the reference value (`undefined` when there is none: a left join). */
  readonly join: (record: SourceRecord<T>, value: V | undefined) => R;
  /**
   * Which version a record sees:
   * - `'eventTime'` (default): the version valid at the record's `timestamp` among the updates received so
   *   far (an update takes effect for records whose event time is at or after its `validFrom`).
   * - `'latest'`: the newest version received so far, whatever the record's time (an update takes effect for
   *   every record processed after it).
   */
  readonly at?: 'eventTime' | 'latest';
}

/**
 * Stream-to-table enrichment against reference data that changes while running (districts, grid cells,
 * buildings, legal persons): each record is joined with the version of its key valid at its event time
 * (or the latest, see `at`) in a `VersionedTable` fed by `updates`.
 *
 * `updates` is subscribed before the records, so a synchronous snapshot (`from(rows)`, a `ReplaySubject`,
 * `concat(snapshot$, changes$)`) is in the table before the first record. Updates that arrive later take
 * effect for records processed after them. The output completes when the records complete; an error on
 * either side errors the output.
 *
 * @example
 * incidents$.pipe(
 *   lookupJoin(legalPersonUpdates$, {
 *     key: (r) => r.value.companyId,
 *     join: (r, company) => ({ ...r.value, companyName: company?.name ?? null }),
 *   }),
 * );
 */
export function lookupJoin<T, K, V, R>(
  updates: Observable<TableUpdate<K, V>>,
  options: LookupJoinOptions<T, K, V, R>,
): OperatorFunction<SourceRecord<T>, R> {
  const keyOf = requireFunction('options.key', options.key);
  const join = requireFunction('options.join', options.join);
  const latest = requireOneOf('options.at', options.at ?? 'eventTime', ['eventTime', 'latest']) === 'latest';
  new VersionedTable<K, V>(options);
  return (source) =>
    new Observable<R>((subscriber) => {
      let table: VersionedTable<K, V> | undefined = new VersionedTable<K, V>(options);
      const tableSubscription = updates.subscribe({
        next: (update) => {
          try {
            table?.apply(update);
          } catch (error) {
            subscriber.error(error);
          }
        },
        error: (error) => subscriber.error(error),
      });
      const subscription = source.subscribe({
        next: (record) => {
          if (table === undefined) return;
          let out: R;
          try {
            const value = table.get(keyOf(record), latest ? Number.POSITIVE_INFINITY : record.timestamp);
            out = join(record, value);
          } catch (error) {
            subscriber.error(error);
            return;
          }
          subscriber.next(out);
        },
        error: (error) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        subscription.unsubscribe();
        tableSubscription.unsubscribe();
        table = undefined;
      };
    });
}
