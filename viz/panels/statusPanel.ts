import { t } from '../i18n.ts';
import type { ConnectionState } from '../liveClient.ts';
import { fmt, setHtml } from './html.ts';

/** Connection state and data freshness (seconds the slowest stream is behind real time). */
export function renderStatusPanel(
  element: HTMLElement,
  state: ConnectionState,
  secondsBehind: number | null,
  lastMessageAgeS: number | null,
  vehicles: number,
  cells: number,
): void {
  element.dataset['state'] = state;
  const behind = secondsBehind === null ? t('noData') : `${fmt(secondsBehind, 1)} ${t('seconds')}`;
  setHtml(
    element,
    `<span class="dot"></span><span class="conn">${t('connection')}: <b>${t(state)}</b></span>
    <span class="fresh">${t('freshness')}: <b>${behind}</b></span>
    <span class="age">${lastMessageAgeS === null ? '' : `↻ ${fmt(lastMessageAgeS, 1)} ${t('seconds')}`}</span>
    <span class="counts">${t('vehicles')} ${fmt(vehicles)} · H3 ${fmt(cells)}</span>`,
  );
}
