import type { AlertEntity } from '../../engine/server/alertEvent.ts';
import { onLanguageChange, t } from '../i18n.ts';
import { escapeHtml, setHtml, worthReporting } from './html.ts';

/** A case as `GET /api/cases` shows it (engine/cases/caseRoutes.ts `caseView`). */
interface CaseRow {
  case_id: string;
  state: string;
  place: string;
  severity: string;
  opened_at: string;
  level: number;
  departments: string[];
  acknowledge_by: string | null;
  acknowledged_by: string | null;
}

/** The actions the console offers in each state; the server and the case service check them again. */
const NEXT: Record<string, string[]> = {
  dispatched: ['acknowledge'],
  acknowledged: ['start', 'resolve'],
  in_progress: ['resolve'],
  resolved: ['verify'],
  verified: ['close'],
  closed: ['reopen'],
};

/** The city's operating level: the firing `operating-level` alert's value, 1 when none is firing. */
export function operatingLevel(alerts: Iterable<AlertEntity>): number {
  let level = 1;
  let newest = -1;
  for (const a of alerts)
    if (a.rule === 'operating-level' && a.state === 'firing' && (a.started_at ?? 0) > newest) {
      newest = a.started_at ?? 0;
      level = a.value ?? 1;
    }
  return level;
}

/**
 * The case console (docs/cases.md): the cases the token may see, each with the actions its state allows;
 * pressing one sends it to the map server (`POST /api/cases/actions`), which hands it to the case service.
 * Reads `/api/cases` every 2 s. A server without Kafka has no console: the section stays empty.
 */
export function mountCases(
  token: string,
  placeName: (code: string) => string,
  onError: (error: unknown) => void,
): void {
  const element = document.getElementById('cases')!;
  let rows: CaseRow[] = [];
  let as = '';
  let departments: string[] = [];
  let note = '';
  const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
  const render = () => {
    const open = rows.filter((c) => c.state !== 'closed');
    const shown = [...open.slice(0, 12), ...rows.filter((c) => c.state === 'closed').slice(0, 3)];
    const items = shown.map((c) => {
      const due = c.acknowledge_by ? Math.round((Date.parse(c.acknowledge_by) - Date.now()) / 1000) : null;
      const buttons = (NEXT[c.state] ?? [])
        .map(
          (a) => `<button data-action="${a}" data-case="${escapeHtml(c.case_id)}">${t(`case_${a}`)}</button>`,
        )
        .join('');
      const assign =
        as === 'operations-centre' && c.state !== 'closed' && c.state !== 'verified'
          ? `<select data-assign="${escapeHtml(c.case_id)}"><option value="">${t('case_assign')}…</option>${departments
              .map((d) => `<option value="${escapeHtml(d)}">${escapeHtml(d)}</option>`)
              .join('')}</select>`
          : '';
      return `<li class="case sev-${escapeHtml(c.severity)}" data-case="${escapeHtml(c.case_id)}" data-state="${escapeHtml(c.state)}">
        <span class="where">${escapeHtml(placeName(c.place))}</span>
        <span class="state">${escapeHtml(t(`state_${c.state}`))}</span>
        <span class="who">${escapeHtml(c.departments.join(', '))}${c.level > 0 ? ` ↑${c.level}` : ''}</span>
        ${due !== null ? `<span class="due ${due < 0 ? 'late' : ''}">${due}${t('seconds')}</span>` : ''}
        <span class="actions">${buttons}${assign}</span></li>`;
    });
    setHtml(
      element,
      rows.length === 0 && note
        ? ''
        : `<h2>${t('cases')} <small>${open.length} · ${escapeHtml(as)}</small></h2><ul class="cases">${items.join('') || `<li class="empty">${t('noCases')}</li>`}</ul>`,
    );
  };
  const load = async () => {
    try {
      const response = await fetch('/api/cases', { headers });
      if (response.status === 404) {
        note = 'no console';
        rows = [];
      } else if (response.ok) {
        const body = (await response.json()) as { as: string; departments: string[]; cases: CaseRow[] };
        rows = body.cases;
        as = body.as;
        departments = body.departments;
      }
    } catch (error) {
      if (worthReporting(error)) onError(error);
    }
    render();
  };
  const act = (action: Record<string, string | undefined>) =>
    void fetch('/api/cases/actions', { method: 'POST', headers, body: JSON.stringify(action) })
      .then(async (response) => {
        if (!response.ok) onError(new Error(`case action: ${response.status} ${await response.text()}`));
      })
      .catch(onError)
      .finally(() => setTimeout(() => void load(), 300));
  element.addEventListener('click', (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-action]');
    if (!button) return;
    button.disabled = true;
    act({ action: button.dataset['action'], case_id: button.dataset['case'] });
  });
  element.addEventListener('change', (event) => {
    const select = event.target as HTMLSelectElement;
    if (!select.dataset['assign'] || !select.value) return;
    act({ action: 'assign', case_id: select.dataset['assign'], to: select.value });
  });
  onLanguageChange(render);
  setInterval(() => void load(), 2_000);
  void load();
}
