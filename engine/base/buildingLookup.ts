import { haversineMeters } from '../../operators/geo/haversineMeters.ts';
import type { ClickHouseClient } from '../connectors/clickhouse/client.ts';
import { baseBuildings } from '../connectors/clickhouse/tables/base.ts';
import { qualified } from '../connectors/clickhouse/tables/table.ts';
import type { BuildingVersion } from './baseImpact.ts';
import { WrittenSince } from './writtenSince.ts';

/**
 * The engine's in-memory copy of `base_buildings` (docs/base.md): every version of every building, by cell,
 * read forward from ClickHouse by `written_at` before each join. The table stays the one truth: the feed
 * applier has already placed each change among the versions, so the copy equals what analysts see.
 *
 * Columnar (typed arrays, one slot per version) rather than `operators/library/joins/VersionedTable`,
 * whose object and two arrays per key took 588 MiB of RSS for 830 k buildings in a scratch measurement,
 * over the 300 MB this lookup may take; bench:base measures this one.
 */
export class BuildingLookup {
  readonly #number = new Map<string, number>();
  readonly #ids: string[] = [];
  /** Per building: its newest-known version slot, then each slot's next (older or equal) slot, -1 at the end. */
  #head = new Int32Array(1024).fill(-1);
  #next = new Int32Array(1024);
  #from = new Float64Array(1024);
  #lat = new Float64Array(1024);
  #lon = new Float64Array(1024);
  #deleted = new Uint8Array(1024);
  #versions = 0;
  /** The buildings that ever had a version in each cell. */
  readonly #inCell = new Map<string, number[]>();
  readonly #table: string;
  readonly #since: WrittenSince;
  #refreshing: Promise<number> | undefined;

  readonly #onChange: (building: number) => void;

  /** `onChange` hears of each building a read adds a version to or changes a version of. */
  constructor(db: { city: string; restricted: string }, onChange: (building: number) => void = () => {}) {
    this.#onChange = onChange;
    this.#table = qualified(baseBuildings, db);
    this.#since = new WrittenSince(this.#table);
  }

  get buildings(): number {
    return this.#ids.length;
  }
  get versions(): number {
    return this.#versions;
  }

  /** Reads the rows written since the last refresh (all of them the first time); the number read. */
  refresh(client: ClickHouseClient): Promise<number> {
    // Calls at once share one read: the second would read the same rows again.
    this.#refreshing ??= this.#read(client).finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #read(client: ClickHouseClient): Promise<number> {
    const pending = await this.#since.pending(client);
    if (pending === undefined) return 0;
    // TabSeparated rather than JSON: no object per row while 830 k are read. Ids and cells need no
    // unescaping (letters, digits and `_.:-`).
    const result = await client.query({
      query: `SELECT building_id, cell, toString(valid_from_ms), deleted, lat, lon
        FROM ${this.#table} WHERE ${pending.where} ORDER BY written_at`,
      format: 'TabSeparated',
    });
    let read = 0;
    for await (const rows of result.stream()) {
      for (const row of rows) this.#apply(row.text.split('\t'));
      read += rows.length;
    }
    pending.done();
    return read;
  }

  /** The number this copy gives a building id (a new one for an id not seen), shared with members' copies. */
  numberOf(buildingId: string): number {
    let b = this.#number.get(buildingId);
    if (b === undefined) {
      b = this.#ids.push(buildingId) - 1;
      this.#number.set(buildingId, b);
      if (b >= this.#head.length) this.#head = grown(this.#head, -1);
    }
    return b;
  }

  /** Every building id seen, by number. */
  idList(): readonly string[] {
    return this.#ids;
  }

  /** The number of a building id already seen. */
  knownNumber(buildingId: string): number | undefined {
    return this.#number.get(buildingId);
  }

  /** One row, as ReplacingMergeTree(written_at) keeps it: a later write of the same version replaces it. */
  #apply([id, cell, validFrom, deleted, lat, lon]: string[]): void {
    const known = this.#number.has(id!);
    const b = this.numberOf(id!);
    const from = Number(validFrom);
    let slot = this.#head[b]!;
    while (slot >= 0 && this.#from[slot] !== from) slot = this.#next[slot]!;
    const fresh = slot < 0;
    if (fresh) {
      slot = this.#versions++;
      if (slot >= this.#from.length) this.#grow();
      this.#next[slot] = this.#head[b]!;
      this.#head[b] = slot;
      this.#from[slot] = from;
    }
    const [isDeleted, atLat, atLon] = [Number(deleted), Number(lat), Number(lon)];
    // A row read again as it was changes nothing, and is not reported as a change.
    if (fresh || this.#deleted[slot] !== isDeleted || this.#lat[slot] !== atLat || this.#lon[slot] !== atLon)
      this.#onChange(b);
    this.#deleted[slot] = isDeleted;
    this.#lat[slot] = atLat;
    this.#lon[slot] = atLon;
    if (cell !== '') {
      const list = this.#inCell.get(cell!);
      if (list === undefined) this.#inCell.set(cell!, [b]);
      else if (!known || !list.includes(b)) list.push(b);
    }
  }

  #grow(): void {
    this.#next = grown(this.#next, 0);
    this.#from = grown(this.#from, 0);
    this.#lat = grown(this.#lat, 0);
    this.#lon = grown(this.#lon, 0);
    this.#deleted = grown(this.#deleted, 0);
  }

  /** Where a building has stood, version by version (tombstones have no place): [valid_from_ms, lat, lon]. */
  places(buildingId: string): Array<[number, number, number]> {
    const b = this.#number.get(buildingId);
    const places: Array<[number, number, number]> = [];
    if (b === undefined) return places;
    for (let slot = this.#head[b]!; slot >= 0; slot = this.#next[slot]!)
      if (this.#deleted[slot] === 0) places.push([this.#from[slot]!, this.#lat[slot]!, this.#lon[slot]!]);
    return places;
  }

  /** The numbers of the buildings that ever stood in `cell`. */
  numbersInCell(cell: string): readonly number[] {
    return this.#inCell.get(cell) ?? [];
  }

  /**
   * Every version valid from `notLaterMs` or before of the buildings that ever stood in `cells` and, at
   * one of those versions, within `radiusM` of (lat, lon): the only ones an incident there can count. The
   * cells within reach cover about three times the radius's area, so the distance is checked here, on the
   * arrays, before any object is made.
   */
  near(
    cells: Iterable<string>,
    notLaterMs: number,
    place: { readonly lat: number; readonly lon: number; readonly radiusM: number },
  ): BuildingVersion[] {
    const versions: BuildingVersion[] = [];
    const seen = new Set<number>();
    for (const cell of cells)
      for (const b of this.#inCell.get(cell) ?? []) {
        if (seen.has(b)) continue;
        seen.add(b);
        let reaches = false;
        for (let slot = this.#head[b]!; slot >= 0 && !reaches; slot = this.#next[slot]!)
          reaches =
            this.#from[slot]! <= notLaterMs &&
            haversineMeters(place.lat, place.lon, this.#lat[slot]!, this.#lon[slot]!) <= place.radiusM;
        if (!reaches) continue;
        const building_id = this.#ids[b]!;
        for (let slot = this.#head[b]!; slot >= 0; slot = this.#next[slot]!)
          if (this.#from[slot]! <= notLaterMs)
            versions.push({
              building_id,
              valid_from_ms: this.#from[slot]!,
              deleted: this.#deleted[slot]!,
              lat: this.#lat[slot]!,
              lon: this.#lon[slot]!,
            });
      }
    return versions;
  }
}

/** A typed array of twice the length, its contents copied and the rest filled with `fill`. */
function grown<T extends Int32Array | Float64Array | Uint8Array>(array: T, fill: number): T {
  const bigger = new (array.constructor as new (length: number) => T)(array.length * 2);
  bigger.set(array);
  bigger.fill(fill, array.length);
  return bigger;
}
