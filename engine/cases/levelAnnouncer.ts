import { type AlertCloudEvent, toAlertCloudEvent } from '../alerts/alertEvent.ts';
import type { CaseBook } from './caseBook.ts';
import type { CaseEvent } from './caseModel.ts';
import { type LevelReading, type LevelRule, levelTransition } from './operatingLevel.ts';

/**
 * Keeps the city's operating level and announces its changes to every department, as alerts in the
 * outbox: the old level's alert resolved, the new one's firing. With no level rules it announces nothing.
 */
export class LevelAnnouncer {
  #level = 1;
  #since = 0;
  #previous = 1;
  #reading: LevelReading = { level: 1, open: 0, critical: 0, places: 0 };

  constructor(
    private readonly rules: () => readonly LevelRule[],
    private readonly send: (events: AlertCloudEvent[]) => Promise<void>,
  ) {}

  current(): LevelReading & { since: number } {
    return { ...this.#reading, since: this.#since };
  }

  /**
   * Folds the events read back at start into `book` in time order, following the level through them, so
   * that the level in force and the time it began are what they were before the restart.
   */
  replay(events: readonly CaseEvent[], book: CaseBook): void {
    const sorted = [...events].sort(
      (a, b) => a.at_ms - b.at_ms || a.case_id.localeCompare(b.case_id) || a.seq - b.seq,
    );
    for (const e of sorted) {
      book.record([e]);
      const reading = book.level.reading(this.rules());
      if (reading.level !== this.#level) this.#change(reading, e.at_ms);
      this.#reading = reading;
    }
  }

  /** After the book changed: a new level is announced (the old one resolved). */
  async check(book: CaseBook, now: number): Promise<void> {
    const reading = book.level.reading(this.rules());
    this.#reading = reading;
    if (reading.level === this.#level) return;
    const before = {
      reading: { ...reading, level: this.#level },
      previous: this.#previous,
      since: this.#since,
    };
    this.#change(reading, now);
    const events: AlertCloudEvent[] = [];
    if (before.since > 0)
      events.push(
        toAlertCloudEvent(levelTransition('resolved', before.reading, before.previous, before.since, now)),
      );
    events.push(toAlertCloudEvent(levelTransition('firing', reading, this.#previous, this.#since, now)));
    await this.send(events);
  }

  /** The level in force announced again (the same alert): the map, which reads the last hour, sees it. */
  async announce(): Promise<void> {
    if (this.#since === 0) return;
    await this.send([
      toAlertCloudEvent(
        levelTransition(
          'firing',
          { ...this.#reading, level: this.#level },
          this.#previous,
          this.#since,
          this.#since,
        ),
      ),
    ]);
  }

  #change(reading: LevelReading, at: number): void {
    this.#previous = this.#level;
    this.#level = reading.level;
    this.#since = at;
  }
}
