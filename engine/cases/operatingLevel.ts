import { alertId } from '../alerts/alertIdentity.ts';
import type { AlertTransition } from '../alerts/alertTransition.ts';
import type { LevelRule } from './caseConfig.ts';
import type { CaseState } from './caseModel.ts';

export interface LevelReading {
  level: number;
  open: number;
  critical: number;
  places: number;
}

export const LEVEL_RULE_ID = 'operating-level';

/** Counts the open cases as they change, so that the level is known after every event at no scan. */
export class LevelTracker {
  #open = 0;
  #critical = 0;
  readonly #places = new Map<string, number>();
  readonly #known = new Map<string, { open: boolean; critical: boolean; place: string }>();

  update(c: CaseState): void {
    const before = this.#known.get(c.id);
    if (before) this.#count(before, -1);
    const after = {
      open: c.state !== 'verified' && c.state !== 'closed',
      critical: c.severity === 'critical',
      place: c.place,
    };
    this.#count(after, 1);
    this.#known.set(c.id, after);
  }

  #count(s: { open: boolean; critical: boolean; place: string }, sign: 1 | -1): void {
    if (!s.open) return;
    this.#open += sign;
    if (s.critical) this.#critical += sign;
    const n = (this.#places.get(s.place) ?? 0) + sign;
    if (n === 0) this.#places.delete(s.place);
    else this.#places.set(s.place, n);
  }

  reading(rules: readonly LevelRule[]): LevelReading {
    const counts = { open: this.#open, critical: this.#critical, places: this.#places.size };
    let level = 1;
    for (const r of rules) {
      const holds = (['open', 'critical', 'places'] as const).every(
        (k) => r[k] === undefined || counts[k] >= r[k],
      );
      if (holds && r.level > level) level = r.level;
    }
    return { level, ...counts };
  }
}

/**
 * The alert of a level in force since `since` (epoch ms): every department gets it (`broadcast`), and the
 * map shows the firing one at its top. Its id derives from the level's start, so announcing it again
 * (after a restart, or to refresh the map) is the same alert, delivered once per endpoint.
 */
export function levelTransition(
  type: 'firing' | 'resolved',
  reading: LevelReading,
  previous: number,
  since: number,
  at: number,
): AlertTransition {
  const { level, open, critical, places } = reading;
  return {
    type,
    alert_id: alertId(LEVEL_RULE_ID, 'city', since),
    rule: LEVEL_RULE_ID,
    severity: level >= 4 ? 'critical' : level === 3 ? 'warning' : 'info',
    indicator: 'cases.open',
    condition: 'threshold',
    title_en: `City operating level ${level} (was ${previous}): ${open} open cases, ${critical} critical, in ${places} places`,
    title_zh: `城市运行等级${level}级（此前${previous}级）：未结案件${open}件，其中严重${critical}件，涉及${places}处`,
    value: level,
    threshold: previous,
    started_at: since,
    ...(type === 'resolved' ? { resolved_at: at } : {}),
    at,
    broadcast: true,
  };
}
