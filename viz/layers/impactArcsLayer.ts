import { ArcLayer } from '@deck.gl/layers';
import type { Incident } from '../mapStore.ts';
import { modeColor } from '../palette.ts';
import type { VehicleBuffer } from './vehicleBuffer.ts';

interface Arc {
  from: [number, number];
  to: [number, number];
  mode: string;
}

/** Arcs from the selected incident to the nearest vehicles of its impact (where they are now). */
export function impactArcsLayer(incident: Incident | undefined, vehicles: VehicleBuffer, visible: boolean) {
  const arcs: Arc[] = [];
  if (incident?.impact) {
    for (const near of incident.impact.nearest_vehicles) {
      const to = vehicles.positionOf(near.vehicle);
      if (to) arcs.push({ from: [incident.lon, incident.lat], to, mode: near.mode });
    }
  }
  return new ArcLayer<Arc>({
    id: 'impact-arcs',
    visible,
    data: arcs,
    getSourcePosition: (d) => d.from,
    getTargetPosition: (d) => d.to,
    getSourceColor: [255, 255, 255, 220],
    getTargetColor: (d) => modeColor(d.mode),
    getWidth: 2,
    getHeight: 0.3,
  });
}
