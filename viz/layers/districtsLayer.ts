import { GeoJsonLayer } from '@deck.gl/layers';
import { ramp } from '../palette.ts';

/** A district feature as `/api/districts` serves it (WGS84). */
export interface DistrictFeature {
  type: 'Feature';
  id: string;
  properties: { code: string; name_zh: string; name_en: string; label: [number, number] };
  geometry: { type: 'Polygon' | 'MultiPolygon'; coordinates: unknown };
}

/**
 * District choropleth: each district filled by `indicatorOf(code)` scaled to [0, max]; white borders.
 * Districts without a value are drawn as outlines only. Clickable.
 */
export function districtsLayer(
  features: DistrictFeature[],
  indicatorOf: (code: string) => number | null,
  max: number,
  trigger: unknown,
  visible: boolean,
  selected: string | undefined,
  onClick: (code: string) => void,
) {
  return new GeoJsonLayer<DistrictFeature['properties']>({
    id: 'districts',
    visible,
    data: features as never,
    filled: true,
    stroked: true,
    getFillColor: (f) => {
      const value = indicatorOf(f.properties.code);
      return value === null ? [0, 0, 0, 0] : ramp(max > 0 ? value / max : 0, 110);
    },
    getLineColor: (f) => (f.properties.code === selected ? [255, 255, 255, 255] : [255, 255, 255, 150]),
    getLineWidth: (f) => (f.properties.code === selected ? 4 : 1.5),
    lineWidthUnits: 'pixels',
    pickable: true,
    onClick: (info) => {
      const code = (info.object as { properties?: { code?: string } } | undefined)?.properties?.code;
      if (code) onClick(code);
      return true;
    },
    updateTriggers: { getFillColor: trigger, getLineColor: selected, getLineWidth: selected },
  });
}
