import { ScatterplotLayer } from '@deck.gl/layers';
import type { Incident } from '../mapStore.ts';

/** The buildings within the selected incident's radius, as the base libraries stood at its time. */
export function affectedBuildingsLayer(incident: Incident | undefined, visible: boolean) {
  return new ScatterplotLayer<[string, number, number]>({
    id: 'affected-buildings',
    visible: visible && (incident?.impact?.base?.affected_buildings.length ?? 0) > 0,
    data: incident?.impact?.base?.affected_buildings ?? [],
    getPosition: (d) => [d[2], d[1]],
    getRadius: 12,
    radiusMinPixels: 2,
    getFillColor: [255, 200, 120, 200],
    stroked: false,
  });
}
