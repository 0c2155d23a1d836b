import type { AlertEntity } from '../../engine/server/alertEvent.ts';
import { currentLanguage, t } from '../i18n.ts';
import { escapeHtml, setHtml } from './html.ts';

/** Live alert feed: firing alerts first, newest first; resolved ones greyed. Tolerates missing fields. */
export function renderAlertFeed(
  element: HTMLElement,
  alerts: Iterable<AlertEntity>,
  districtName: (code: string) => string,
): void {
  const list = [...alerts].sort((a, b) => {
    if (a.state !== b.state) return a.state === 'firing' ? -1 : 1;
    return (b.started_at ?? 0) - (a.started_at ?? 0);
  });
  const rows = list.slice(0, 50).map((alert) => {
    const title =
      (currentLanguage() === 'zh'
        ? (alert.title_zh ?? alert.title_en)
        : (alert.title_en ?? alert.title_zh)) ??
      alert.rule ??
      alert.alert_id;
    const where = alert.district ? districtName(alert.district) : (alert.cell ?? '');
    const time = alert.started_at
      ? new Date(alert.started_at).toLocaleTimeString('zh-CN', { hour12: false })
      : '';
    const value =
      alert.value !== null ? ` ${alert.value}${alert.threshold !== null ? ` / ${alert.threshold}` : ''}` : '';
    return `<li class="alert ${alert.state} sev-${escapeHtml(alert.severity ?? 'none')}" data-alert="${escapeHtml(alert.alert_id)}">
      <span class="when">${escapeHtml(time)}</span>
      <span class="state">${escapeHtml(t(alert.state))}</span>
      <span class="title">${escapeHtml(title)}</span>
      <span class="where">${escapeHtml(where)}${escapeHtml(value)}</span></li>`;
  });
  setHtml(
    element,
    `<h2>${t('alerts')}</h2><ul class="alerts">${rows.join('') || `<li class="empty">${t('noAlerts')}</li>`}</ul>`,
  );
}
