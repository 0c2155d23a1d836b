import type { Governance } from '../../engine/access/governance.ts';
import { currentLanguage, onLanguageChange, t } from '../i18n.ts';
import { flowSankey } from './flowSankey.ts';
import { escapeHtml, fmt, setHtml, sparkline, worthReporting } from './html.ts';

type Days = 1 | 7 | 30;

/** What the governance page last loaded, or why it could not. */
interface Loaded {
  days: Days;
  figures?: Governance;
  error?: string;
}

const pct = (x: number) => `${fmt(x * 100)}%`;

async function load(days: Days, token: string): Promise<Governance> {
  const response = await fetch(`/api/governance?days=${days}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  if (!response.ok) throw new Error(`${response.status}: ${(await response.text()).slice(0, 200)}`);
  return (await response.json()) as Governance;
}

/**
 * The governance page (issue 16) over the map: exchange transactions per day, each provider's scorecard
 * with its trend, the ledger's flows as a Sankey chart, and each consumer's use; and today's transactions
 * in the header. It reads `/api/governance` (the server answers each department with its own rows) when
 * opened and every minute; the header figure every minute.
 */
export function mountGovernance(token: string, onError: (error: unknown) => void): void {
  const panel = document.getElementById('governance')!;
  const toggle = document.getElementById('gov-toggle')!;
  const today = document.getElementById('exchange-today')!;
  let state: Loaded = { days: 7 };
  let todayFigures: Governance['transactions'][number] | undefined;

  const name = (department: string) => {
    const known = state.figures?.names[department];
    if (!known) return department;
    return currentLanguage() === 'zh' ? known.zh : known.en;
  };
  const render = () => {
    toggle.textContent = panel.hidden ? t('governance') : t('backToMap');
    setHtml(
      today,
      todayFigures
        ? `${t('exchangeToday')} <b data-testid="exchange-today">${fmt(todayFigures.accepted + todayFigures.rejected)}</b> · ${t('delivered')} ${fmt(todayFigures.delivered)}`
        : '',
    );
    if (!panel.hidden) setHtml(panel, pageHtml(state, name));
    for (const button of panel.querySelectorAll<HTMLButtonElement>('button[data-days]'))
      button.onclick = () => void open(Number(button.dataset['days']) as Days);
  };
  const refreshToday = async () => {
    try {
      todayFigures = (await load(1, token)).transactions.at(-1);
    } catch (error) {
      todayFigures = undefined;
      // 404: this server runs without ClickHouse, and the page says so when opened.
      if (worthReporting(error) && !(error instanceof Error && error.message.startsWith('404')))
        onError(error);
    }
    render();
  };
  const open = async (days: Days) => {
    state = { ...state, days };
    try {
      state = { days, figures: await load(days, token) };
    } catch (error) {
      state = { days, error: String(error) };
    }
    render();
  };

  toggle.onclick = () => {
    panel.hidden = !panel.hidden;
    document.body.dataset['page'] = panel.hidden ? 'map' : 'governance';
    render();
    if (!panel.hidden) void open(state.days);
  };
  onLanguageChange(render);
  setInterval(() => {
    void refreshToday();
    if (!panel.hidden) void open(state.days);
  }, 60_000);
  void refreshToday();
}

function pageHtml(state: Loaded, name: (department: string) => string): string {
  const periods = ([1, 7, 30] as const)
    .map((d) => `<button data-days="${d}" class="${state.days === d ? 'on' : ''}">${t(`days${d}`)}</button>`)
    .join('');
  const head = `<header><h2>${t('govTitle')}</h2><div class="periods">${periods}</div></header>`;
  if (state.error)
    return `${head}<p class="note">${t('governanceUnavailable')}: ${escapeHtml(state.error)}</p>`;
  const g = state.figures;
  if (!g) return `${head}<p>…</p>`;
  const notes = Object.entries(g.sources)
    .filter(([, s]) => !s.available)
    .map(([source, s]) => `${source}: ${s.note ?? ''}`);
  return `${head}
    ${notes.length ? `<p class="note">${escapeHtml(notes.join('; '))}</p>` : ''}
    <div class="gov-grid">
      <section><h3>${t('perDay')}</h3>${transactionsHtml(g)}</section>
      <section><h3>${t('scorecard')}</h3>${scoresHtml(g, name)}</section>
      <section class="wide"><h3>${t('flows')}</h3>${flowSankey(g.flows, name) || `<p>${t('noFigures')}</p>`}</section>
      <section><h3>${t('use')}</h3>${useHtml(g, name)}</section>
      <section><h3>${t('caseHandling')}</h3>${casesHtml(g, name)}</section>
    </div>`;
}

function transactionsHtml(g: Governance): string {
  const rows = g.transactions
    .map((d) => {
      const day = new Date(d.day + 8 * 3_600_000).toISOString().slice(5, 10);
      return `<tr data-day="${d.day}"><td>${day}</td><td>${fmt(d.accepted)}</td><td>${fmt(d.rejected)}</td><td>${fmt(d.delivered)}</td></tr>`;
    })
    .join('');
  const series = g.transactions.map((d) => d.accepted + d.rejected);
  return `${sparkline(series, 260, 40)}<table data-testid="transactions"><thead><tr><th></th><th>${t('accepted')}</th><th>${t('rejected')}</th><th>${t('delivered')}</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function scoresHtml(g: Governance, name: (department: string) => string): string {
  const byClass = new Map<string, Governance['scores']>();
  for (const s of g.scores) {
    const key = `${s.provider}\u0000${s.resource}`;
    byClass.set(key, [...(byClass.get(key) ?? []), s]);
  }
  if (byClass.size === 0) return `<p>${t('noFigures')}</p>`;
  const rows = [...byClass.values()]
    .map((series) => {
      const last = series.at(-1)!;
      return `<tr data-provider="${escapeHtml(last.provider)}"><td>${escapeHtml(name(last.provider))}<br/><small>${escapeHtml(last.resource)}</small></td>
        <td><b>${pct(last.score)}</b></td><td>${sparkline(
          series.map((s) => s.score),
          70,
          20,
        )}</td><td>${pct(last.validity)}</td><td>${pct(last.completeness)}</td><td>${pct(last.freshness)}</td><td>${pct(last.answer_score)}</td></tr>`;
    })
    .join('');
  const th = ['provider', 'score', 'trend', 'validity', 'completeness', 'freshnessScore', 'answerTime']
    .map((k) => `<th>${t(k)}</th>`)
    .join('');
  return `<table data-testid="scores"><thead><tr>${th}</tr></thead><tbody>${rows}</tbody></table>`;
}

function useHtml(g: Governance, name: (department: string) => string): string {
  const byConsumer = new Map<string, Governance['use']>();
  for (const u of g.use) byConsumer.set(u.consumer, [...(byConsumer.get(u.consumer) ?? []), u]);
  if (byConsumer.size === 0) return `<p>${t('noFigures')}</p>`;
  const rows = [...byConsumer.entries()]
    .map(([consumer, days]) => {
      const perDay = g.transactions.map((d) => days.find((u) => u.day === d.day)?.records ?? 0);
      const records = days.reduce((n, u) => n + u.records, 0);
      const deliveries = days.reduce((n, u) => n + u.deliveries, 0);
      return `<tr data-consumer="${escapeHtml(consumer)}"><td>${escapeHtml(name(consumer))}</td><td>${fmt(records)}</td><td>${fmt(deliveries)}</td><td>${sparkline(perDay, 70, 20)}</td></tr>`;
    })
    .join('');
  return `<table data-testid="use"><thead><tr><th>${t('consumer')}</th><th>${t('records')}</th><th>${t('deliveries')}</th><th>${t('trend')}</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function casesHtml(g: Governance, name: (department: string) => string): string {
  if (g.cases.length === 0) return `<p>${t('noFigures')}</p>`;
  const minutes = (s: number) => fmt(s / 60, 1);
  const rows = g.cases
    .map(
      (c) =>
        `<tr data-department="${escapeHtml(c.department)}"><td>${escapeHtml(name(c.department))}</td><td>${fmt(c.cases)}</td><td>${minutes(c.mean_ack_s)}</td><td>${minutes(c.mean_close_s)}</td><td>${pct(c.closure_rate)}</td><td>${pct(c.on_time_closure_rate)}</td></tr>`,
    )
    .join('');
  const th = ['department', 'cases', 'ackTime', 'closeTime', 'closureRate', 'onTimeRate']
    .map((k) => `<th>${t(k)}</th>`)
    .join('');
  return `<table data-testid="case-handling"><thead><tr>${th}</tr></thead><tbody>${rows}</tbody></table>`;
}
