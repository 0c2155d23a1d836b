import type { DistrictIndicators } from '../../engine/server/liveState.ts';
import { t } from '../i18n.ts';
import { escapeHtml, fmt, sparkline } from './html.ts';

/** Per-district indicators with a sparkline of the chosen indicator (newest minute right). */
export function renderDistrictPanel(
  element: HTMLElement,
  codes: readonly string[],
  districtName: (code: string) => string,
  indicators: Map<string, DistrictIndicators>,
  series: (code: string) => Array<number | null>,
  indicator: string,
  onSelect: (code: string) => void,
): void {
  const rows = codes.map((code) => {
    const d = indicators.get(code);
    return `<tr data-district="${escapeHtml(code)}">
      <td class="name">${escapeHtml(districtName(code))}</td>
      <td>${fmt(d?.records_per_min)}</td>
      <td>${d?.congestion === null || d?.congestion === undefined ? '–' : fmt(d.congestion * 100)}${d?.congestion != null ? '%' : ''}</td>
      <td>${fmt(d?.people_present)}</td>
      <td>${sparkline(series(code))}</td></tr>`;
  });
  element.innerHTML = `<h2>${t('districtPanel')}</h2>
    <table class="districts"><thead><tr><th></th><th>${t('records_per_min')}</th><th>${t('congestion')}</th><th>${t('people_present')}</th><th>${escapeHtml(t(indicator))}</th></tr></thead>
    <tbody>${rows.join('')}</tbody></table>`;
  for (const row of element.querySelectorAll<HTMLTableRowElement>('tr[data-district]'))
    row.onclick = () => onSelect(row.dataset['district']!);
}
