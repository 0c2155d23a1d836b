import { t } from '../i18n.ts';
import type { Incident, PulseTuple } from '../mapStore.ts';
import { escapeHtml, fmt, setHtml, sparkline } from './html.ts';

/** What a clicked incident touches: the engine's incident_impact join (vehicles nearby, people present). */
export function renderIncidentDetail(
  element: HTMLElement,
  incident: Incident,
  districtName: (code: string) => string,
): void {
  const impact = incident.impact;
  const nearest = impact
    ? impact.nearest_vehicles
        .slice(0, 10)
        .map((v) => `<li>${escapeHtml(v.vehicle)} · ${escapeHtml(t(v.mode))} · ${fmt(v.distance_m)} m</li>`)
        .join('')
    : '';
  element.hidden = false;
  setHtml(
    element,
    `<button class="close" title="${t('close')}">×</button>
    <h2>${escapeHtml(t(`cat_${incident.category}`))} <small>${escapeHtml(incident.id)}</small></h2>
    <p>${t('severity')}: <b>${incident.severity}</b> · ${t(incident.status === 'open' ? 'open' : 'closedIncident')} · ${escapeHtml(districtName(incident.district))}
    · ${new Date(incident.ts).toLocaleTimeString('zh-CN', { hour12: false })}</p>
    ${incident.description ? `<p class="desc">${escapeHtml(incident.description)}</p>` : ''}
    <h3>${t('impact')}</h3>
    ${
      impact
        ? `<p class="impact">${t('vehiclesNearby')} (${fmt(impact.radius_m)} m): <b data-testid="impact-vehicles">${fmt(impact.vehicles)}</b>
           · ${t('peoplePresent')}: <b data-testid="impact-people">${fmt(impact.people_present)}</b></p>
           <h3>${t('nearest')}</h3><ul class="nearest">${nearest}</ul>${baseFigures(impact.base)}`
        : `<p>${t('noImpact')}</p>`
    }`,
  );
  element.querySelector<HTMLButtonElement>('.close')!.onclick = () => {
    element.hidden = true;
  };
}

/** Residents by age band ("<5" for a small group), businesses and the sensitive sites near an incident. */
function baseFigures(base: NonNullable<Incident['impact']>['base']): string {
  if (!base) return '';
  const people = (n: number | null) => (n === null ? '&lt;5' : fmt(n));
  const sites = base.sensitive_sites
    .slice(0, 8)
    .map(
      (s) =>
        `<li>${escapeHtml(t(`ind_${s.industry}`))} · ${escapeHtml(s.legal_person_id)} · ${fmt(s.distance_m)} m</li>`,
    )
    .join('');
  return `<h3>${t('baseLibraries')}</h3>
    <p class="base" data-testid="impact-base">${t('buildings')}: <b>${fmt(base.buildings)}</b> · ${t('dwellings')}: <b>${fmt(base.dwellings)}</b>
    · ${t('legalPersons')}: <b>${fmt(base.legal_persons)}</b></p>
    <p>${t('residentsUnder14')}: <b>${people(base.residents.under_14)}</b> · ${t('residents14to64')}: <b>${people(base.residents.from_14_to_64)}</b>
    · ${t('residents65')}: <b>${people(base.residents.from_65)}</b></p>
    ${sites ? `<h3>${t('sensitiveSites')}</h3><ul class="sites">${sites}</ul>` : ''}`;
}

/** A clicked district's pulse over the last hour (one point per minute). */
export function renderDistrictDetail(
  element: HTMLElement,
  code: string,
  name: string,
  pulse: Map<number, PulseTuple> | undefined,
  onClose: () => void,
): void {
  const minutes = [...(pulse?.keys() ?? [])].sort((a, b) => a - b);
  const series = (i: number) => minutes.map((m) => pulse!.get(m)![i] as number | null);
  const last = minutes.length > 0 ? pulse!.get(minutes[minutes.length - 1]!)! : undefined;
  const row = (label: string, i: number, color: string) =>
    `<tr><td>${t(label)}</td><td>${sparkline(series(i), 180, 30, color)}</td><td><b>${fmt(last?.[i] as number | null | undefined, i === 1 ? 1 : 0)}</b></td></tr>`;
  element.hidden = false;
  setHtml(
    element,
    `<button class="close" title="${t('close')}">×</button>
    <h2>${escapeHtml(name)} <small>${escapeHtml(code)}</small></h2><h3>${t('pulse')} (${minutes.length} min)</h3>
    ${
      minutes.length === 0
        ? `<p>${t('noData')}</p>`
        : `<table class="pulse">${row('vehiclesSeen', 0, '#ffd34d')}${row('meanSpeed', 1, '#7fd4ff')}${row('incidentsOpen', 3, '#ff6b6b')}${row('peoplePresent', 4, '#b48cff')}</table>`
    }`,
  );
  element.querySelector<HTMLButtonElement>('.close')!.onclick = () => {
    element.hidden = true;
    onClose();
  };
}
