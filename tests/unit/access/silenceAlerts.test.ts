import { describe, expect, it } from 'vitest';
import { SILENT_RULE, SilenceTracker } from '../../../engine/access/silenceAlerts.ts';
import { loadCatalogue } from '../../../engine/catalogue/loadCatalogue.ts';
import type { StreamName } from '../../../engine/contract/topics.ts';

const { catalogue } = await loadCatalogue();
const MINUTE = 60_000;
const T = Date.UTC(2026, 11, 7, 2);
const LOOKBACK = 6 * 60 * MINUTE;

describe('silent providers as alerts', () => {
  const at = (transport: number | undefined, events = T, population = T) =>
    new Map<StreamName, number | undefined>([
      ['transport', transport],
      ['events', events],
      ['population', population],
    ]);

  it('fire once a stream has sent nothing for the limit, to its provider, and resolve when it sends again', () => {
    const tracker = new SilenceTracker(() => catalogue, 10 * MINUTE);
    expect(tracker.transitions(at(T), T + 9 * MINUTE, LOOKBACK)).toEqual([]);
    const [firing, ...rest] = tracker.transitions(
      at(T, T + 10 * MINUTE, T + 10 * MINUTE),
      T + 11 * MINUTE,
      LOOKBACK,
    );
    expect(rest).toEqual([]);
    expect(firing).toMatchObject({
      type: 'firing',
      rule: SILENT_RULE,
      department: 'transport',
      started_at: T + 10 * MINUTE,
      value: 11,
    });
    // Still silent: nothing new; then a record arrives: resolved, with the same id.
    expect(tracker.transitions(at(T, T + 12 * MINUTE, T + 12 * MINUTE), T + 12 * MINUTE, LOOKBACK)).toEqual(
      [],
    );
    const [resolved] = tracker.transitions(at(T + 13 * MINUTE), T + 13 * MINUTE, LOOKBACK);
    expect(resolved).toMatchObject({
      type: 'resolved',
      alert_id: firing!.alert_id,
      resolved_at: T + 13 * MINUTE,
    });
  });

  it('counts a stream with nothing in the lookback as silent since the lookback began', () => {
    const tracker = new SilenceTracker(() => catalogue, 10 * MINUTE);
    const [firing] = tracker.transitions(at(undefined), T, LOOKBACK);
    expect(firing).toMatchObject({
      type: 'firing',
      department: 'transport',
      started_at: T - LOOKBACK + 10 * MINUTE,
    });
  });
});
