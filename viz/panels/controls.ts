import { t } from '../i18n.ts';
import { CATEGORY_COLORS, MODE_COLORS, ramp, rgbaCss } from '../palette.ts';
import { escapeHtml, fmt, setHtml } from './html.ts';

/** What the controls change. */
export interface ControlState {
  layers: { vehicles: boolean; incidents: boolean; population: boolean; districts: boolean; arcs: boolean };
  indicator: 'records_per_min' | 'congestion' | 'people_present';
  /** 0 = live; else minutes of history replayed. */
  window: 0 | 5 | 15 | 60;
}

/** Layer toggles, choropleth indicator, time window selector and the legend. */
export function renderControls(
  element: HTMLElement,
  state: ControlState,
  choroplethMax: number,
  onChange: (next: ControlState) => void,
): void {
  const toggle = (key: keyof ControlState['layers']) =>
    `<label><input type="checkbox" data-layer="${key}" ${state.layers[key] ? 'checked' : ''}/> ${t(key)}</label>`;
  const windows: Array<[ControlState['window'], string]> = [
    [0, 'liveWindow'],
    [5, 'last5'],
    [15, 'last15'],
    [60, 'last60'],
  ];
  const legendDot = (color: string, label: string) =>
    `<li><i style="background:${color}"></i>${escapeHtml(label)}</li>`;
  setHtml(
    element,
    `<h2>${t('layers')}</h2>
    <div class="toggles">${toggle('vehicles')}${toggle('incidents')}${toggle('population')}${toggle('districts')}${toggle('arcs')}</div>
    <h2>${t('indicator')}</h2>
    <select data-testid="indicator">${(['records_per_min', 'congestion', 'people_present'] as const)
      .map((i) => `<option value="${i}" ${state.indicator === i ? 'selected' : ''}>${t(i)}</option>`)
      .join('')}</select>
    <h2>${t('window')}</h2>
    <div class="windows">${windows
      .map(
        ([m, label]) =>
          `<button data-window="${m}" class="${state.window === m ? 'on' : ''}">${t(label)}</button>`,
      )
      .join('')}</div>
    <h2>${t('legend')}</h2>
    <ul class="legend">${Object.entries(MODE_COLORS)
      .map(([mode, color]) => legendDot(rgbaCss(color), t(mode)))
      .join('')}</ul>
    <ul class="legend">${Object.entries(CATEGORY_COLORS)
      .map(([category, color]) => legendDot(rgbaCss(color), t(`cat_${category}`)))
      .join('')}${legendDot('rgba(120,120,120,0.6)', t('closedIncident'))}</ul>
    <div class="ramp"><span>0</span><span class="bar" style="background:linear-gradient(90deg,${[
      0, 0.25, 0.5, 0.75, 1,
    ]
      .map((x) => rgbaCss(ramp(x, 255)))
      .join(
        ',',
      )})"></span><span>${state.indicator === 'congestion' ? '100%' : fmt(choroplethMax)}</span></div>`,
  );
  for (const input of element.querySelectorAll<HTMLInputElement>('input[data-layer]')) {
    input.onchange = () =>
      onChange({ ...state, layers: { ...state.layers, [input.dataset['layer']!]: input.checked } });
  }
  element.querySelector<HTMLSelectElement>('select')!.onchange = (event) =>
    onChange({ ...state, indicator: (event.target as HTMLSelectElement).value as ControlState['indicator'] });
  for (const button of element.querySelectorAll<HTMLButtonElement>('button[data-window]'))
    button.onclick = () =>
      onChange({ ...state, window: Number(button.dataset['window']) as ControlState['window'] });
}
