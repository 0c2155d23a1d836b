import { describe, expect, it } from 'vitest';
import { ALERT_EVENT_SOURCE, type AlertCloudEvent } from '../../../engine/alerts/alertEvent.ts';
import { CaseBook } from '../../../engine/cases/caseBook.ts';
import { CasesConfig } from '../../../engine/cases/caseConfig.ts';
import type { CaseEvent } from '../../../engine/cases/caseModel.ts';
import { LevelAnnouncer } from '../../../engine/cases/levelAnnouncer.ts';

const T0 = Date.UTC(2026, 11, 7, 9, 0);
const config = CasesConfig.parse({
  levels: [
    { level: 2, open: 2 },
    { level: 3, open: 3, critical: 1 },
    { level: 4, places: 4 },
  ],
});

let n = 0;
function firing(district: string, severity: 'warning' | 'critical' = 'warning'): AlertCloudEvent {
  const id = `al_${(++n).toString(16).padStart(24, '0')}`;
  const at = new Date(T0).toISOString();
  return {
    specversion: '1.0',
    id: `${id}.firing`,
    source: ALERT_EVENT_SOURCE,
    type: 'city.alert.firing',
    time: at,
    datacontenttype: 'application/json',
    data: {
      alert_id: id,
      rule: 'slow',
      severity,
      indicator: 'transport.mean_speed_kmh',
      condition: 'threshold',
      district,
      title_en: 'slow',
      title_zh: '缓慢',
      value: 9,
      threshold: 12,
      started_at: at,
    },
  };
}

describe("the city's operating level", () => {
  it('follows the open cases by the rules, and announces each change to every department', async () => {
    const book = new CaseBook();
    const sent: AlertCloudEvent[] = [];
    const levels = new LevelAnnouncer(
      () => config.levels,
      async (events) => void sent.push(...events),
    );
    book.onRecord = (e) => levels.observe(book, e.at_ms);
    const all: CaseEvent[] = [];
    const step = async (alert: AlertCloudEvent, at: number) => {
      all.push(...book.onAlert(alert, ['transport'], config, at));
      await levels.flush();
      return book.level.reading(config.levels);
    };
    expect((await step(firing('440303'), T0)).level).toBe(1);
    expect(sent).toEqual([]);
    expect(await step(firing('440304'), T0 + 1)).toEqual({ level: 2, open: 2, critical: 0, places: 2 });
    expect((await step(firing('440305', 'critical'), T0 + 2)).level).toBe(3);
    expect((await step(firing('440306'), T0 + 3)).level).toBe(4);
    expect(sent.map((e) => [e.type, e.data.value, e.data.threshold, e.data.broadcast])).toEqual([
      ['city.alert.firing', 2, 1, true],
      ['city.alert.resolved', 2, 1, true],
      ['city.alert.firing', 3, 2, true],
      ['city.alert.resolved', 3, 2, true],
      ['city.alert.firing', 4, 3, true],
    ]);
    expect(sent.at(-1)!.data.severity).toBe('critical');
    expect(sent.at(-1)!.data.title_zh).toMatch(/城市运行等级4级/);
    // Closing cases lowers it again.
    const c = book.caseOfAlert(sent.length > 0 ? all[0]!.alert_id : '')!;
    for (const [department, action] of [
      ['transport', 'acknowledge'],
      ['transport', 'resolve'],
    ] as const)
      all.push(
        ...(
          book.act({ department, action, case_id: c.id }, { ...config, supervisors: [] }, T0 + 10) as {
            events: CaseEvent[];
          }
        ).events,
      );
    all.push(
      ...(
        book.act(
          { department: 'transport', action: 'verify', case_id: c.id },
          { ...config, supervisors: ['transport'] },
          T0 + 11,
        ) as { events: CaseEvent[] }
      ).events,
    );
    await levels.flush();
    expect(levels.current()).toMatchObject({ level: 3, open: 3, since: T0 + 11 });

    // Rebuilt from its events, in any order of reading, it is at the same level since the same time.
    const rebuilt = new CaseBook();
    const again = new LevelAnnouncer(
      () => config.levels,
      async () => {},
    );
    rebuilt.onRecord = (e) => again.observe(rebuilt, e.at_ms);
    again.replay([...all].reverse(), rebuilt);
    expect(again.current()).toEqual(levels.current());
    // Announced at start, it is the last change again, under the same ids: the old level resolved, the new firing.
    const told: AlertCloudEvent[] = [];
    const third = new LevelAnnouncer(
      () => config.levels,
      async (e) => void told.push(...e),
    );
    const book3 = new CaseBook();
    book3.onRecord = (e) => third.observe(book3, e.at_ms);
    third.replay(all, book3);
    await third.announce(true);
    expect(told.map((e) => e.id)).toEqual(sent.slice(-2).map((e) => e.id));
    expect(told.map((e) => e.type)).toEqual(['city.alert.resolved', 'city.alert.firing']);
    const announced: AlertCloudEvent[] = [];
    await new LevelAnnouncer(
      () => config.levels,
      async (e) => void announced.push(...e),
    ).announce();
    expect(announced).toEqual([]); // nothing to announce before any change
  });
});
