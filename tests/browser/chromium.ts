import type * as maplibregl from 'maplibre-gl';
import type { LiveClient } from '../../viz/liveClient.ts';
import type { MapStore } from '../../viz/mapStore.ts';
import type { ControlState } from '../../viz/panels/controls.ts';

/** Debian's Chromium, headless, WebGL in software (SwiftShader), nothing phoning home. */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--use-gl=swiftshader',
  '--enable-unsafe-swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** What the page exposes on `window.__cityOps` (viz/main.ts), as seen from tests. */
export interface CityOpsPage {
  client: LiveClient;
  store: MapStore;
  map: maplibregl.Map;
  controls: ControlState;
  applyControls(next: ControlState): Promise<void>;
  perf: {
    frames: number;
    deckFrames: number;
    layerBuilds: number;
    layerBuildMs: number;
    longTasks: number;
    longTaskMs: number;
    errors: string[];
  };
}
