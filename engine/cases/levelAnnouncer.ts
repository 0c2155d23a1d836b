import { type AlertCloudEvent, toAlertCloudEvent } from '../alerts/alertEvent.ts';
import type { CaseBook } from './caseBook.ts';
import type { LevelRule } from './caseConfig.ts';
import type { CaseEvent } from './caseModel.ts';
import { type LevelReading, levelTransition } from './operatingLevel.ts';

/** A level in force: which, what it was before, since when (epoch ms; 0: never changed). */
interface InForce {
  reading: LevelReading;
  previous: number;
  since: number;
}

/**
 * Keeps the city's operating level and announces its changes to every department, as alerts in the
 * outbox: the old level's alert resolved, the new one's firing. With no level rules it announces nothing.
 *
 * The level is read after every event folded into the book (`observe`), live and in a rebuild alike, and a
 * change is dated by the event that made it: the level's alert id derives from that date, so a restart
 * announces the same alert, not a second one.
 */
export class LevelAnnouncer {
  #now: InForce = { reading: { level: 1, open: 0, critical: 0, places: 0 }, previous: 1, since: 0 };
  #before: InForce | undefined;
  #pending: AlertCloudEvent[] = [];

  constructor(
    private readonly rules: () => readonly LevelRule[],
    private readonly send: (events: AlertCloudEvent[]) => Promise<void>,
  ) {}

  current(): LevelReading & { since: number } {
    return { ...this.#now.reading, since: this.#now.since };
  }

  /** After `book` folded an event dated `at`: a new level is noted, to announce at the next `flush`. */
  observe(book: CaseBook, at: number): void {
    const reading = book.level.reading(this.rules());
    const level = this.#now.reading.level;
    if (reading.level === level) {
      this.#now.reading = reading;
      return;
    }
    const before = { ...this.#now, reading: { ...reading, level } };
    this.#now = { reading, previous: level, since: at };
    this.#before = before;
    if (before.since > 0)
      this.#pending.push(
        toAlertCloudEvent(levelTransition('resolved', before.reading, before.previous, before.since, at)),
      );
    this.#pending.push(toAlertCloudEvent(levelTransition('firing', reading, level, at, at)));
  }

  /**
   * The events read back at start, in the order they happened: within a case by its sequence, across
   * cases by time (an event is taken as no earlier than the one before it in its case). `book` must call
   * `observe` for each (CaseService wires it), so the level and its date are what they were.
   */
  replay(events: readonly CaseEvent[], book: CaseBook): void {
    const byCase = [...events].sort((a, b) => a.case_id.localeCompare(b.case_id) || a.seq - b.seq);
    const timed: Array<{ e: CaseEvent; t: number }> = [];
    for (const [i, e] of byCase.entries()) {
      const prior = i > 0 && byCase[i - 1]!.case_id === e.case_id ? timed[i - 1]!.t : 0;
      timed.push({ e, t: Math.max(e.at_ms, prior) });
    }
    timed.sort((a, b) => a.t - b.t || a.e.case_id.localeCompare(b.e.case_id) || a.e.seq - b.e.seq);
    for (const { e } of timed) book.record([e]);
    // What a crash may have cut short is sent again by `announce` at start, under the same ids.
    this.#pending = [];
  }

  /** Sends the changes noted since the last flush (the caller has written the events that made them). */
  async flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const events = this.#pending;
    this.#pending = [];
    await this.send(events);
  }

  /**
   * The level in force announced again (the same alert): the map, which reads the last hour, sees it. At
   * start (`withPrevious`), the previous level's resolution too, which a crash may have kept from going.
   */
  async announce(withPrevious = false): Promise<void> {
    const { reading, previous, since } = this.#now;
    if (since === 0) return;
    const events: AlertCloudEvent[] = [];
    const before = this.#before;
    if (withPrevious && before && before.since > 0)
      events.push(
        toAlertCloudEvent(levelTransition('resolved', before.reading, before.previous, before.since, since)),
      );
    events.push(toAlertCloudEvent(levelTransition('firing', reading, previous, since, since)));
    await this.send(events);
  }
}
