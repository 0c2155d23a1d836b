import type { TRANSPORT_MODES } from '../engine/contract/exchangeRecords.ts';

type TransportMode = (typeof TRANSPORT_MODES)[number];

/** Colours of the map (RGBA 0-255), shared by the layers and the legend. */
export type Rgba = [number, number, number, number];

/** One colour per transport mode of the exchange contract (TRANSPORT_MODES, engine/contract/exchangeRecords.ts). */
export const MODE_COLORS: Record<TransportMode, Rgba> = {
  bus: [255, 140, 0, 230],
  metro: [0, 160, 255, 230],
  taxi: [255, 221, 0, 230],
  tram: [190, 90, 255, 230],
  ferry: [0, 220, 220, 230],
  bike: [0, 220, 120, 230],
  other: [200, 200, 200, 220],
};
/** A mode's colour; a mode the contract does not know gets `other`'s. */
export function modeColor(mode: string): Rgba {
  return (MODE_COLORS as Record<string, Rgba | undefined>)[mode] ?? MODE_COLORS.other;
}

/** One colour per incident category of the exchange contract (engine/contract/exchangeRecords.ts). */
export const CATEGORY_COLORS: Record<string, Rgba> = {
  traffic_accident: [255, 60, 60, 255],
  congestion: [255, 140, 40, 255],
  road_damage: [190, 120, 60, 255],
  fire: [255, 210, 0, 255],
  flooding: [40, 120, 255, 255],
  public_order: [220, 0, 220, 255],
  medical: [0, 200, 160, 255],
  environment: [120, 200, 40, 255],
  illegal_parking: [150, 150, 255, 255],
  facility_failure: [160, 160, 160, 255],
  other: [240, 240, 240, 255],
};
export const OTHER_CATEGORY: Rgba = [255, 255, 255, 255];
export const CLOSED_INCIDENT: Rgba = [120, 120, 120, 140];

/** Sequential ramp (dark blue -> yellow) for the choropleth and the hexagons; t in [0, 1]. */
const RAMP: Array<[number, number, number]> = [
  [13, 8, 135],
  [84, 2, 163],
  [139, 10, 165],
  [185, 50, 137],
  [219, 92, 104],
  [244, 136, 73],
  [254, 188, 43],
  [240, 249, 33],
];

export function ramp(t: number, alpha = 200): Rgba {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const a = RAMP[i]!;
  const b = RAMP[i + 1]!;
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f),
    alpha,
  ];
}

export function rgbaCss(color: Rgba): string {
  return `rgba(${color[0]},${color[1]},${color[2]},${(color[3] / 255).toFixed(2)})`;
}
