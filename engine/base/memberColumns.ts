import type { ClickHouseClient } from '../connectors/clickhouse/client.ts';
import type { TableDefinition } from '../connectors/clickhouse/tables/table.ts';

/** One kind of member of a building, as its table holds it. */
export interface MemberKind {
  readonly table: TableDefinition;
  /** The member's id column. */
  readonly id: string;
  /** A column kept per version as an integer (a resident's birth day, a legal person's industry). */
  readonly value?: { readonly column: string; readonly parse: (text: string) => number };
  /** Whether to keep the member's id for a version of this value (sensitive sites are named). */
  readonly keepsId?: (value: number) => boolean;
}

const DELETED = 1;
/** The first version of a member within its building's rows. */
const FIRST = 2;

/**
 * Every version of one kind of member, per building, in typed arrays: a building's rows are one range,
 * sorted by member and then by `valid_from_ms`, one row per version (the latest write of it). That is the
 * table's own sort order, so ClickHouse hands them over in it, and "as of t" is one pass over the range.
 *
 * Ids are not kept (a flag marks where a member's versions start), except where `keepsId` asks: 18.44 M
 * ids as strings would take more memory than every other column together. Re-reading a building replaces
 * its range with rows appended at the end; the old range is left unused (`unused` counts it).
 */
export class MemberColumns {
  readonly kind: MemberKind;
  #start = new Int32Array(1024);
  #count = new Int32Array(1024);
  #from = new Float64Array(1024);
  #flags = new Uint8Array(1024);
  #value = new Int32Array(1024);
  #size = 0;
  #unused = 0;
  readonly #ids = new Map<number, string>();

  constructor(kind: MemberKind) {
    this.kind = kind;
  }

  get rows(): number {
    return this.#size - this.#unused;
  }
  get unused(): number {
    return this.#unused;
  }

  /** Room for this many rows more, so that a large read does not grow the arrays by copying. */
  reserve(rows: number): void {
    if (this.#size + rows > this.#from.length) this.#grow(this.#size + rows);
  }

  /**
   * Reads the rows `where` selects, of whole buildings, and makes them these buildings' versions.
   * `numberOf` numbers building ids (the buildings' copy shares its numbers). Returns the rows read.
   */
  async read(
    client: ClickHouseClient,
    qualifiedTable: string,
    where: string,
    numberOf: (buildingId: string) => number,
    changed: (building: number) => void = () => {},
  ): Promise<number> {
    const { id, value } = this.kind;
    // Ids are letters, digits and `_.:-` (the contract's Id), so TabSeparated needs no unescaping.
    const result = await client.query({
      query: `SELECT building_id, ${id}, toString(valid_from_ms), deleted${value ? `, ${value.column}` : ''}
        FROM ${qualifiedTable} WHERE ${where}
        ORDER BY building_id, ${id}, valid_from_ms, written_at`,
      format: 'TabSeparated',
    });
    let building = '';
    let b = -1;
    let member = '';
    let read = 0;
    for await (const rows of result.stream()) {
      for (const row of rows) {
        const f = row.text.split('\t');
        if (f[0] !== building) {
          if (b >= 0) this.#close(b, changed);
          building = f[0]!;
          b = this.#open(numberOf(building));
          member = '';
        }
        this.#add(f, f[1] !== member);
        member = f[1]!;
        read++;
      }
    }
    if (b >= 0) this.#close(b, changed);
    if (this.#unused > this.rows) this.#compact();
    return read;
  }

  /** The range a building had before the read now filling it. */
  #previous = { start: 0, count: 0 };

  #open(b: number): number {
    if (b >= this.#start.length) {
      const length = Math.max(b + 1, this.#start.length * 2);
      this.#start = grownTo(this.#start, length);
      this.#count = grownTo(this.#count, length);
    }
    this.#previous = { start: this.#start[b]!, count: this.#count[b]! };
    this.#unused += this.#count[b]!;
    this.#start[b] = this.#size;
    this.#count[b] = 0;
    return b;
  }

  /** Ends building `b`'s new range; `changed` hears of it unless it equals the range it replaces. */
  #close(b: number, changed: (building: number) => void): void {
    const count = this.#size - this.#start[b]!;
    this.#count[b] = count;
    const old = this.#previous;
    let same = old.count === count;
    for (let i = 0; same && i < count; i++) {
      const [was, is] = [old.start + i, this.#start[b]! + i];
      same =
        this.#from[was] === this.#from[is] &&
        this.#flags[was] === this.#flags[is] &&
        this.#value[was] === this.#value[is] &&
        this.#ids.get(was) === this.#ids.get(is);
    }
    for (let i = 0; i < old.count; i++) this.#ids.delete(old.start + i);
    if (!same) changed(b);
  }

  /** Copies the live ranges into arrays of their size (and some room): re-read buildings leave old ones. */
  #compact(): void {
    const rows = this.rows;
    const room = rows + (rows >> 4) + 1024;
    const from = new Float64Array(room);
    const flags = new Uint8Array(room);
    const value = this.kind.value ? new Int32Array(room) : this.#value;
    let size = 0;
    for (let b = 0; b < this.#start.length; b++) {
      const start = this.#start[b]!;
      const count = this.#count[b]!;
      from.set(this.#from.subarray(start, start + count), size);
      flags.set(this.#flags.subarray(start, start + count), size);
      if (this.kind.value) value.set(this.#value.subarray(start, start + count), size);
      for (let i = 0; i < count; i++) {
        const id = this.#ids.get(start + i);
        if (id !== undefined) this.#moved.set(size + i, id);
      }
      this.#start[b] = size;
      size += count;
    }
    this.#ids.clear();
    for (const [slot, id] of this.#moved) this.#ids.set(slot, id);
    this.#moved.clear();
    [this.#from, this.#flags, this.#value, this.#size, this.#unused] = [from, flags, value, size, 0];
  }
  readonly #moved = new Map<number, string>();

  #add(f: string[], firstOfMember: boolean): void {
    const from = Number(f[2]);
    const last = this.#size - 1;
    // Rows come by written_at within a version: a later write of the same version replaces it.
    const again = !firstOfMember && this.#from[last] === from;
    const slot = again ? last : this.#size++;
    if (slot >= this.#from.length) this.#grow(Math.ceil(this.#from.length * 1.5));
    this.#from[slot] = from;
    const first = again ? this.#flags[slot]! & FIRST : firstOfMember ? FIRST : 0;
    this.#flags[slot] = (f[3] === '1' ? DELETED : 0) | first;
    if (this.kind.value === undefined) return;
    const value = this.kind.value.parse(f[4]!);
    this.#value[slot] = value;
    if (this.kind.keepsId === undefined) return;
    if (this.kind.keepsId(value)) this.#ids.set(slot, f[1]!);
    else this.#ids.delete(slot);
  }

  #grow(length: number): void {
    this.#from = grownTo(this.#from, length);
    this.#flags = grownTo(this.#flags, length);
    if (this.kind.value) this.#value = grownTo(this.#value, length);
  }

  /**
   * Calls `visit` with the row of each member of building `b` as it stood at `atMs`: its latest version at
   * or before then, unless that is a tombstone.
   */
  asOf(b: number, atMs: number, visit: (row: number) => void): void {
    if (b >= this.#start.length) return;
    const end = this.#start[b]! + this.#count[b]!;
    let live = -1;
    for (let row = this.#start[b]!; row < end; row++) {
      const flags = this.#flags[row]!;
      if (flags & FIRST) {
        if (live >= 0) visit(live);
        live = -1;
      }
      if (this.#from[row]! <= atMs) live = flags & DELETED ? -1 : row;
    }
    if (live >= 0) visit(live);
  }

  value(row: number): number {
    return this.#value[row]!;
  }

  /** The member's id, where `keepsId` kept it. */
  id(row: number): string | undefined {
    return this.#ids.get(row);
  }
}

/** A typed array of at least `length`, its contents copied, the rest zero. */
function grownTo<T extends Int32Array | Float64Array | Uint8Array>(array: T, length: number): T {
  const bigger = new (array.constructor as new (length: number) => T)(Math.max(length, array.length));
  bigger.set(array);
  return bigger;
}
