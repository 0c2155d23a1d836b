import type { DistrictIndicators } from '../../engine/server/liveState.ts';
import { t } from '../i18n.ts';
import { escapeHtml, fmt, setHtml, sparkline } from './html.ts';

/** Per-district indicators with a sparkline of the chosen indicator (newest minute right). Rows are clickable. */
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
  setHtml(
    element,
    `<h2>${t('districtPanel')}</h2>
    <table class="districts"><thead><tr><th></th><th>${t('records_per_min')}</th><th>${t('congestion')}</th><th>${t('people_present')}</th><th>${escapeHtml(t(indicator))}</th></tr></thead>
    <tbody>${rows.join('')}</tbody></table>`,
  );
  // One delegated handler, so that re-rendering rows never loses a click.
  element.onclick = (event) => {
    const row = (event.target as HTMLElement).closest<HTMLTableRowElement>('tr[data-district]');
    if (row) onSelect(row.dataset['district']!);
  };
}
