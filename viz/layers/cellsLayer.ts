import { H3HexagonLayer } from '@deck.gl/geo-layers';
import { ramp } from '../palette.ts';

/** Population density: one hexagon per H3 cell, coloured on a log scale of people present. */
export function cellsLayer(
  cells: Array<{ hex: string; present: number }>,
  version: number,
  visible: boolean,
) {
  let max = 1;
  for (const c of cells) if (c.present > max) max = c.present;
  const logMax = Math.log1p(max);
  return new H3HexagonLayer<{ hex: string; present: number }>({
    id: 'cells',
    visible,
    data: cells,
    getHexagon: (d) => d.hex,
    getFillColor: (d) => ramp(Math.log1p(d.present) / logMax, 150),
    extruded: false,
    stroked: false,
    filled: true,
    highPrecision: false,
    coverage: 0.92,
    pickable: false,
    updateTriggers: { getFillColor: version },
  });
}
