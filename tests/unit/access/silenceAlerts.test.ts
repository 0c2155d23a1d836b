import { describe, expect, it } from 'vitest';
import { SILENT_RULE, SilenceTracker } from '../../../engine/access/silenceAlerts.ts';
import { loadCatalogue } from '../../../engine/catalogue/loadCatalogue.ts';
import type { StreamName } from '../../../engine/contract/topics.ts';

const { catalogue } = await loadCatalogue();
const MINUTE = 60_000;
const T = Date.UTC(2026, 11, 7, 2);

describe('silent providers as alerts', () => {
  const at = (transport: number | undefined, events = T, population = T) =>
    new Map<StreamName, number | undefined>([
      ['transport', transport],
      ['events', events],
      ['population', population],
    ]);

  it('fire once a stream has sent nothing for the limit, to its provider, and resolve when it sends again', () => {
    const tracker = new SilenceTracker(() => catalogue, 10 * MINUTE);
    expect(tracker.transitions(at(T), T + 9 * MINUTE)).toEqual([]);
    const [firing, ...rest] = tracker.transitions(at(T, T + 10 * MINUTE, T + 10 * MINUTE), T + 11 * MINUTE);
    expect(rest).toEqual([]);
    expect(firing).toMatchObject({
      type: 'firing',
      rule: SILENT_RULE,
      department: 'transport',
      started_at: T + 10 * MINUTE,
      value: 11,
    });
    // Still silent: nothing new; then a record arrives: resolved, with the same id.
    expect(tracker.transitions(at(T, T + 12 * MINUTE, T + 12 * MINUTE), T + 12 * MINUTE)).toEqual([]);
    const [resolved] = tracker.transitions(at(T + 13 * MINUTE), T + 13 * MINUTE);
    expect(resolved).toMatchObject({
      type: 'resolved',
      alert_id: firing!.alert_id,
      resolved_at: T + 13 * MINUTE,
    });
  });

  it('does not flap while a long silence goes on, and is no alert for a stream never seen', () => {
    const tracker = new SilenceTracker(() => catalogue, 10 * MINUTE);
    expect(tracker.transitions(at(undefined), T)).toEqual([]); // never seen: nothing to say
    const [firing] = tracker.transitions(at(T), T + 11 * MINUTE);
    expect(firing?.type).toBe('firing');
    // Past the lookback the stream's last delivery is no longer read: the alert stays as it is.
    expect(tracker.transitions(at(undefined), T + 8 * 60 * MINUTE)).toEqual([]);
    expect(tracker.transitions(at(undefined), T + 9 * 60 * MINUTE)).toEqual([]);
    const [resolved] = tracker.transitions(at(T + 9 * 60 * MINUTE), T + 9 * 60 * MINUTE);
    expect(resolved).toMatchObject({ type: 'resolved', alert_id: firing!.alert_id });
  });
});
