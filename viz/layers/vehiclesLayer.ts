import { ScatterplotLayer } from '@deck.gl/layers';
import type { VehicleBuffer } from './vehicleBuffer.ts';

/**
 * Vehicles as dots coloured by mode, from the columnar `VehicleBuffer` (binary attributes: deck.gl
 * uploads the typed arrays as they are). Positions glide to their new value over `transitionMs`.
 */
export function vehiclesLayer(buffer: VehicleBuffer, visible: boolean, transitionMs = 900) {
  return new ScatterplotLayer({
    id: 'vehicles',
    visible,
    data: {
      length: buffer.length,
      attributes: {
        getPosition: { value: buffer.positions, size: 2 },
        getFillColor: { value: buffer.colors, size: 4, normalized: true },
      },
    },
    radiusUnits: 'pixels',
    getRadius: 2.5,
    radiusMinPixels: 1.5,
    stroked: false,
    pickable: false,
    transitions: buffer.generation > 0 ? { getPosition: transitionMs } : {},
    updateTriggers: { getPosition: buffer.version, getFillColor: buffer.version },
  });
}
