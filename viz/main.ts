import 'maplibre-gl/dist/maplibre-gl.css';
import './style.css';
import { MapboxOverlay } from '@deck.gl/mapbox';
import * as maplibregl from 'maplibre-gl';
import maplibreWorkerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url';
import type { DistrictIndicators } from '../engine/server/liveState.ts';
import { currentLanguage, onLanguageChange, setLanguage, t } from './i18n.ts';
import { affectedBuildingsLayer } from './layers/affectedBuildingsLayer.ts';
import { cellsLayer } from './layers/cellsLayer.ts';
import { type DistrictFeature, districtsLayer } from './layers/districtsLayer.ts';
import { impactArcsLayer } from './layers/impactArcsLayer.ts';
import { incidentsLayer } from './layers/incidentsLayer.ts';
import { vehiclesLayer } from './layers/vehiclesLayer.ts';
import { type ConnectionState, LiveClient } from './liveClient.ts';
import { type Incident, MapStore } from './mapStore.ts';
import { renderAlertFeed } from './panels/alertFeed.ts';
import { mountCases, operatingLevel } from './panels/casesPanel.ts';
import { type ControlState, renderControls } from './panels/controls.ts';
import { renderDistrictDetail, renderIncidentDetail } from './panels/detailPanel.ts';
import { renderDistrictPanel } from './panels/districtPanel.ts';
import { mountGovernance } from './panels/governancePanel.ts';
import { loadReplay, type Replay } from './panels/historyReplay.ts';
import { setHtml } from './panels/html.ts';
import { renderStatusPanel } from './panels/statusPanel.ts';

/** Performance counters of the page, on `window.__cityOps.perf` (read by the browser tests and docs/map.md). */
interface PagePerf {
  /** requestAnimationFrame callbacks: how often the main thread could paint. */
  frames: number;
  /** Frames deck.gl drew. */
  deckFrames: number;
  /** Layer rebuilds (at most one per animation frame) and the time they took, ms. */
  layerBuilds: number;
  layerBuildMs: number;
  /** Main-thread tasks over 50 ms (PerformanceObserver 'longtask'), and their total time, ms. */
  longTasks: number;
  longTaskMs: number;
  errors: string[];
}

const perf: PagePerf = {
  frames: 0,
  deckFrames: 0,
  layerBuilds: 0,
  layerBuildMs: 0,
  longTasks: 0,
  longTaskMs: 0,
  errors: [],
};

function reportError(error: unknown): void {
  const text = error instanceof Error ? error.message : String(error);
  perf.errors.push(text);
  if (perf.errors.length > 50) perf.errors.shift();
  console.error('[city-ops]', error);
}

async function boot(): Promise<void> {
  // maplibre's worker is a module of its own: bundled by vite and served from our server.
  maplibregl.setWorkerUrl(maplibreWorkerUrl);
  // The token comes in the link's fragment (`#token=`, never sent to a server or in a Referer), or in the
  // query of older links; it is kept for this tab only and taken out of the address bar and its history.
  const fromLink =
    new URLSearchParams(location.hash.slice(1)).get('token') ??
    new URLSearchParams(location.search).get('token');
  const token = fromLink ?? sessionStorage.getItem('city-ops-token') ?? '';
  sessionStorage.setItem('city-ops-token', token);
  if (fromLink !== null) history.replaceState(null, '', location.pathname);
  const el = (id: string) => document.getElementById(id)!;

  const [style, districtGeo] = await Promise.all([
    fetch('/basemap/style.json').then((r) => r.json() as Promise<maplibregl.StyleSpecification>),
    fetch('/api/districts').then((r) => r.json() as Promise<{ features: DistrictFeature[] }>),
  ]);
  const features = districtGeo.features;
  const names = new Map(features.map((f) => [f.properties.code, f.properties]));
  const districtName = (code: string) => {
    const p = names.get(code);
    if (!p) return code;
    return currentLanguage() === 'zh' ? p.name_zh : p.name_en;
  };
  const codes = features.map((f) => f.properties.code).sort();

  // District labels are drawn by maplibre with local fonts: the style has no glyphs URL, so nothing is
  // fetched, and CJK goes through localIdeographFontFamily (Debian's fonts-noto-cjk).
  style.sources['district-labels'] = {
    type: 'geojson',
    data: {
      type: 'FeatureCollection',
      features: features.map((f) => ({
        type: 'Feature',
        properties: { name_zh: f.properties.name_zh, name_en: f.properties.name_en },
        geometry: { type: 'Point', coordinates: f.properties.label },
      })),
    },
  };
  style.layers.push({
    id: 'district-labels',
    type: 'symbol',
    source: 'district-labels',
    layout: {
      'text-field': ['get', currentLanguage() === 'zh' ? 'name_zh' : 'name_en'],
      'text-font': ['Noto Sans CJK SC'],
      'text-size': 15,
    },
    paint: { 'text-color': '#ffffff', 'text-halo-color': '#0b1020', 'text-halo-width': 2 },
  });

  const map = new maplibregl.Map({
    container: 'map',
    style,
    center: [114.06, 22.62],
    zoom: 9.6,
    localIdeographFontFamily: "'Noto Sans CJK SC', 'Noto Sans SC', 'Noto Sans CJK', sans-serif",
    attributionControl: false,
    fadeDuration: 0,
  });
  const overlay = new MapboxOverlay({
    interleaved: false,
    layers: [],
    onAfterRender: () => {
      perf.deckFrames += 1;
    },
    onError: (error) => reportError(error),
  });
  map.addControl(overlay as unknown as maplibregl.IControl);

  const store = new MapStore();
  const controls: ControlState = {
    layers: { vehicles: true, incidents: true, population: true, districts: true, arcs: true },
    indicator: 'records_per_min',
    window: 0,
  };
  let selectedIncident: string | undefined;
  let selectedDistrict: string | undefined;
  let replay: Replay | undefined;
  let replayIndex = 0;
  const liveSeries = new Map<string, Map<number, DistrictIndicators>>();

  const indicatorValue = (code: string): number | null => {
    if (replay) {
      const minute = replay.minutes[replayIndex];
      const v = minute === undefined ? undefined : replay.values.get(minute)?.get(code);
      return v ? v[controls.indicator] : null;
    }
    const d = store.districts.get(code);
    return d ? d[controls.indicator] : null;
  };
  const choroplethMax = (): number => {
    if (controls.indicator === 'congestion') return 1;
    let max = 0;
    if (replay) {
      for (const byDistrict of replay.values.values())
        for (const v of byDistrict.values()) max = Math.max(max, v[controls.indicator] ?? 0);
    } else for (const d of store.districts.values()) max = Math.max(max, d[controls.indicator] ?? 0);
    return max;
  };

  let cellCache = { version: -1, list: [] as Array<{ hex: string; present: number }> };
  let incidentCache = { version: -1, list: [] as Incident[] };
  let renderScheduled = false;
  const requestRender = () => {
    if (renderScheduled) return;
    renderScheduled = true;
    requestAnimationFrame(renderLayers);
  };
  function renderLayers(): void {
    renderScheduled = false;
    const started = performance.now();
    try {
      if (cellCache.version !== store.versions.cells)
        cellCache = { version: store.versions.cells, list: store.cellList() };
      if (incidentCache.version !== store.versions.incidents)
        incidentCache = { version: store.versions.incidents, list: [...store.incidents.values()] };
      const incident = selectedIncident ? store.incidents.get(selectedIncident) : undefined;
      const max = choroplethMax();
      overlay.setProps({
        layers: [
          districtsLayer(
            features,
            indicatorValue,
            max,
            [store.versions.districts, controls.indicator, replay?.minutes[replayIndex]],
            controls.layers.districts,
            selectedDistrict,
            selectDistrict,
          ),
          cellsLayer(cellCache.list, store.versions.cells, controls.layers.population),
          vehiclesLayer(store.vehicles, controls.layers.vehicles),
          affectedBuildingsLayer(incident, controls.layers.arcs && incident !== undefined),
          impactArcsLayer(incident, store.vehicles, controls.layers.arcs && incident !== undefined),
          incidentsLayer(
            incidentCache.list,
            store.versions.incidents,
            controls.layers.incidents,
            selectedIncident,
            selectIncident,
          ),
        ],
      });
    } catch (error) {
      reportError(error);
    }
    perf.layerBuilds += 1;
    perf.layerBuildMs += performance.now() - started;
  }

  function selectIncident(incident: Incident): void {
    selectedIncident = incident.id;
    selectedDistrict = undefined;
    renderIncidentDetail(el('detail'), incident, districtName);
    requestRender();
  }
  function selectDistrict(code: string): void {
    selectedDistrict = code;
    selectedIncident = undefined;
    renderDistrictDetail(el('detail'), code, districtName(code), store.pulse.get(code), () => {
      selectedDistrict = undefined;
      requestRender();
    });
    requestRender();
  }

  const layersWanted = (): string[] => {
    const layers = ['districts', 'pulse', 'alerts', 'status'];
    if (controls.layers.vehicles || controls.layers.arcs) layers.push('vehicles');
    if (controls.layers.population) layers.push('cells');
    if (controls.layers.incidents) layers.push('incidents');
    return layers;
  };
  const subscribe = () => {
    const b = map.getBounds();
    client.subscribe({
      layers: layersWanted(),
      area: { bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()] },
      zoom: map.getZoom(),
    });
  };

  const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  const client = new LiveClient(
    wsUrl,
    token,
    (topic, up, rm, reset) => {
      store.apply(topic, up, rm, reset);
      if (topic === 'districts') {
        for (const [code, value] of up) {
          const d = value as DistrictIndicators;
          if (d.minute === null) continue;
          let series = liveSeries.get(code);
          if (!series) {
            series = new Map();
            liveSeries.set(code, series);
          }
          series.set(d.minute, d);
          if (series.size > 60) series.delete(Math.min(...series.keys()));
        }
      }
      requestRender();
    },
    (state: ConnectionState) => {
      document.body.dataset['connection'] = state;
      renderPanels();
    },
    reportError,
  );

  const seriesOf = (code: string): Array<number | null> => {
    if (replay)
      return replay.minutes.map((m) => replay!.values.get(m)?.get(code)?.[controls.indicator] ?? null);
    const series = liveSeries.get(code);
    if (!series) return [];
    return [...series.keys()].sort((a, b) => a - b).map((m) => series.get(m)![controls.indicator]);
  };

  const applyControls = async (next: ControlState) => {
    const windowChanged = next.window !== controls.window;
    const layersChanged = JSON.stringify(next.layers) !== JSON.stringify(controls.layers);
    Object.assign(controls, next);
    if (layersChanged) subscribe();
    if (windowChanged) {
      if (next.window === 0) replay = undefined;
      else {
        try {
          replay = await loadReplay(next.window, token);
          replayIndex = Math.max(0, replay.minutes.length - 1);
        } catch (error) {
          reportError(error);
          replay = { minutes: [], values: new Map(), notes: [String(error)] };
        }
      }
    }
    renderPanels();
    requestRender();
  };

  function renderPanels(): void {
    const now = Date.now();
    el('title').textContent = t('title');
    el('lang').textContent = t('language');
    renderStatusPanel(
      el('status'),
      client.state,
      store.secondsBehind(now),
      client.stats.lastMessageAt ? (now - client.stats.lastMessageAt) / 1000 : null,
      store.vehicles.count,
      cellCache.list.length,
    );
    renderControls(el('controls'), controls, choroplethMax(), (next) => void applyControls(next));
    renderAlertFeed(el('alerts'), store.alerts.values(), districtName);
    const level = operatingLevel(store.alerts.values());
    el('level').dataset['level'] = String(level);
    el('level').textContent = `${t('level')} ${level}`;
    renderDistrictPanel(
      el('district-panel'),
      codes,
      districtName,
      store.districts,
      seriesOf,
      controls.indicator,
      selectDistrict,
    );
    const replayEl = el('replay');
    if (replay) {
      const minute = replay.minutes[replayIndex];
      replayEl.hidden = false;
      setHtml(
        replayEl,
        `<b>${t('replay')}</b> ${
          minute === undefined ? '' : new Date(minute).toLocaleTimeString('zh-CN', { hour12: false })
        } <input type="range" min="0" max="${Math.max(0, replay.minutes.length - 1)}" value="${replayIndex}"/>
      ${replay.notes.length ? `<div class="note">${t('historyUnavailable')}: ${replay.notes.map((n) => n.replaceAll('<', '&lt;')).join('; ')}</div>` : ''}`,
      );
      replayEl.querySelector<HTMLInputElement>('input')!.oninput = (event) => {
        replayIndex = Number((event.target as HTMLInputElement).value);
        requestRender();
      };
    } else replayEl.hidden = true;
    if (selectedDistrict && !el('detail').hidden)
      renderDistrictDetail(
        el('detail'),
        selectedDistrict,
        districtName(selectedDistrict),
        store.pulse.get(selectedDistrict),
        () => {
          selectedDistrict = undefined;
        },
      );
  }

  el('lang').onclick = () => {
    setLanguage(currentLanguage() === 'zh' ? 'en' : 'zh');
  };
  onLanguageChange(() => {
    map.setLayoutProperty('district-labels', 'text-field', [
      'get',
      currentLanguage() === 'zh' ? 'name_zh' : 'name_en',
    ]);
    renderPanels();
  });

  let moveTimer: number | undefined;
  map.on('moveend', () => {
    clearTimeout(moveTimer);
    moveTimer = window.setTimeout(subscribe, 300);
  });
  map.on('error', (event) => reportError(event.error));

  // Replay advances one minute per second; panels refresh once a second (DOM work stays off the hot path).
  setInterval(() => {
    if (replay && replay.minutes.length > 1) {
      replayIndex = (replayIndex + 1) % replay.minutes.length;
      requestRender();
    }
    renderPanels();
  }, 1000);
  const countFrames = () => {
    perf.frames += 1;
    requestAnimationFrame(countFrames);
  };
  requestAnimationFrame(countFrames);
  try {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        perf.longTasks += 1;
        perf.longTaskMs += entry.duration;
      }
    }).observe({ entryTypes: ['longtask'] });
  } catch {
    // longtask entries are not supported everywhere; the counters stay at 0.
  }

  mountGovernance(token, reportError);
  mountCases(token, (place) => (names.has(place) ? districtName(place) : place), reportError);
  Object.assign(window, { __cityOps: { client, store, map, overlay, perf, controls, applyControls } });
  subscribe();
  client.start();
  renderPanels();
  document.body.dataset['ready'] = 'true';
}

boot().catch((error) => {
  reportError(error);
  document.body.dataset['ready'] = 'error';
});
