import { modeColor } from '../palette.ts';

/**
 * Vehicles in columnar, GPU-ready form: one slot per vehicle, kept for as long as the vehicle is on the
 * map (so deck.gl can interpolate its position between updates), positions in a Float32Array and
 * colours in a Uint8Array handed to deck.gl as binary attributes (no per-object accessor calls).
 * Free slots are reused; a removed vehicle's colour becomes transparent.
 */
export class VehicleBuffer {
  capacity = 0;
  /** Slots in use or freed (the layer draws [0, length)). */
  length = 0;
  positions = new Float32Array(0);
  colors = new Uint8Array(0);
  speeds = new Float32Array(0);
  modes: string[] = [];
  keys: Array<string | undefined> = [];
  /** Bumped on every change; the layer rebuilds its data object when it moves. */
  version = 0;
  /** Bumped when the arrays are reallocated (positions then jump rather than glide). */
  generation = 0;
  private readonly slotOf = new Map<string, number>();
  private readonly ownerOf = new Map<string, string>();
  private readonly topicKeys = new Map<string, Set<string>>();
  private readonly free: number[] = [];

  get count(): number {
    return this.slotOf.size;
  }

  /** Applies one vehicle tuple `[lon, lat, mode, speed_kmh, ts]` received on `topic`. */
  upsert(
    topic: string,
    key: string,
    value: [number | null, number | null, string, number | null, number | null],
  ): void {
    let slot = this.slotOf.get(key);
    if (slot === undefined) {
      slot = this.free.pop() ?? this.grow();
      this.slotOf.set(key, slot);
      this.keys[slot] = key;
    }
    const owner = this.ownerOf.get(key);
    if (owner !== topic) {
      if (owner) this.topicKeys.get(owner)?.delete(key);
      this.ownerOf.set(key, topic);
      let keys = this.topicKeys.get(topic);
      if (!keys) {
        keys = new Set();
        this.topicKeys.set(topic, keys);
      }
      keys.add(key);
    }
    // A department granted no positions gets null for them (docs/access.md): NaN is drawn nowhere.
    this.positions[slot * 2] = value[0] ?? Number.NaN;
    this.positions[slot * 2 + 1] = value[1] ?? Number.NaN;
    this.speeds[slot] = value[3] ?? Number.NaN;
    if (this.modes[slot] !== value[2]) {
      this.modes[slot] = value[2];
      const color = modeColor(value[2]);
      this.colors.set(color, slot * 4);
    } else if (this.colors[slot * 4 + 3] === 0) {
      this.colors.set(modeColor(value[2]), slot * 4);
    }
    this.version += 1;
  }

  /** Removes a vehicle, unless it has meanwhile moved to another topic (district). */
  remove(topic: string, key: string): void {
    if (this.ownerOf.get(key) !== topic) return;
    const slot = this.slotOf.get(key);
    if (slot === undefined) return;
    this.slotOf.delete(key);
    this.ownerOf.delete(key);
    this.topicKeys.get(topic)?.delete(key);
    this.keys[slot] = undefined;
    this.modes[slot] = '';
    this.colors[slot * 4 + 3] = 0;
    this.free.push(slot);
    this.version += 1;
  }

  /** Drops every vehicle received on `topic` (before a snapshot of it is applied). */
  resetTopic(topic: string): void {
    const keys = this.topicKeys.get(topic);
    if (!keys) return;
    for (const key of [...keys]) this.remove(topic, key);
  }

  /** Position of a vehicle by id, if on the map. */
  positionOf(key: string): [number, number] | undefined {
    const slot = this.slotOf.get(key);
    return slot === undefined ? undefined : [this.positions[slot * 2]!, this.positions[slot * 2 + 1]!];
  }

  /** How many vehicles of each mode are on the map. */
  countByMode(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const slot of this.slotOf.values()) {
      const mode = this.modes[slot] ?? '';
      counts[mode] = (counts[mode] ?? 0) + 1;
    }
    return counts;
  }

  private grow(): number {
    if (this.length === this.capacity) {
      const capacity = Math.max(1024, this.capacity * 2);
      const positions = new Float32Array(capacity * 2);
      positions.set(this.positions);
      const colors = new Uint8Array(capacity * 4);
      colors.set(this.colors);
      const speeds = new Float32Array(capacity);
      speeds.set(this.speeds);
      this.positions = positions;
      this.colors = colors;
      this.speeds = speeds;
      this.capacity = capacity;
      this.generation += 1;
    }
    const slot = this.length;
    this.length += 1;
    return slot;
  }
}
