import type { FieldCut } from '../access/layerCut.ts';

/**
 * The cut variants of the topics: a client that gets a topic cut (engine/access/layerCut.ts) is subscribed
 * to the uWS channel `<topic>#<cut key>` instead of the topic, and each frame published to the topic is
 * cut and published once more per cut in use, so clients with the same cut share one serialisation.
 */
export class TopicCuts {
  readonly #inUse = new Map<string, Map<string, { cut: FieldCut; clients: number }>>();
  /** The last snapshot cut per channel: clients subscribing to one topic at one seq share it. */
  readonly #snapshots = new Map<string, { seq: number; payload: string }>();

  /** The uWS channel of a topic under a cut (the topic itself when whole). */
  channel(topic: string, cut: FieldCut | undefined): string {
    return cut === undefined ? topic : `${topic}#${cut.key}`;
  }

  add(topic: string, cut: FieldCut): void {
    const cuts = this.#inUse.get(topic) ?? new Map<string, { cut: FieldCut; clients: number }>();
    this.#inUse.set(topic, cuts);
    const entry = cuts.get(cut.key) ?? { cut, clients: 0 };
    entry.clients += 1;
    cuts.set(cut.key, entry);
  }

  remove(topic: string, cut: FieldCut): void {
    const cuts = this.#inUse.get(topic);
    const entry = cuts?.get(cut.key);
    if (cuts === undefined || entry === undefined) return;
    entry.clients -= 1;
    if (entry.clients > 0) return;
    cuts.delete(cut.key);
    this.#snapshots.delete(this.channel(topic, cut));
    if (cuts.size === 0) this.#inUse.delete(topic);
  }

  /** A topic's snapshot at `seq`, cut (once per channel and seq). */
  snapshot(topic: string, seq: number, cut: FieldCut, frame: string): string {
    const channel = this.channel(topic, cut);
    const known = this.#snapshots.get(channel);
    if (known?.seq === seq) return known.payload;
    const payload = cutFrame(frame, cut);
    this.#snapshots.set(channel, { seq, payload });
    return payload;
  }

  /** A topic's frame as each cut in use makes it: [channel, payload] pairs. */
  variants(topic: string, payload: string): Array<[string, string]> {
    const cuts = this.#inUse.get(topic);
    if (cuts === undefined) return [];
    return [...cuts.values()].map(({ cut }) => [this.channel(topic, cut), cutFrame(payload, cut)]);
  }
}

/** A snapshot, delta or catch-up frame with each entity's value cut; other frames as they are. */
export function cutFrame(frame: string, cut: FieldCut): string {
  const message = JSON.parse(frame) as Record<string, unknown>;
  for (const field of ['entities', 'up'] as const) {
    const entries = message[field];
    if (Array.isArray(entries))
      message[field] = entries.map((entry: [string, unknown]) => [entry[0], cut.value(entry[1])]);
  }
  return JSON.stringify(message);
}
