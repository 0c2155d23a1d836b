import { ScatterplotLayer } from '@deck.gl/layers';
import type { Incident } from '../mapStore.ts';
import { CATEGORY_COLORS, CLOSED_INCIDENT, OTHER_CATEGORY } from '../palette.ts';

/** Incidents: colour by category, size by severity (1-5); closed ones grey and small. Clickable. */
export function incidentsLayer(
  incidents: Incident[],
  version: number,
  visible: boolean,
  selected: string | undefined,
  onClick: (incident: Incident) => void,
) {
  return new ScatterplotLayer<Incident>({
    id: 'incidents',
    visible,
    // An incident cut to a grant without its position (docs/access.md) is listed, not drawn.
    data: incidents.filter((d) => Number.isFinite(d.lon) && Number.isFinite(d.lat)),
    getPosition: (d) => [d.lon, d.lat],
    getFillColor: (d) =>
      d.status === 'closed' ? CLOSED_INCIDENT : (CATEGORY_COLORS[d.category] ?? OTHER_CATEGORY),
    getRadius: (d) => (d.status === 'closed' ? 4 : 4 + d.severity * 2),
    getLineColor: (d) => (d.id === selected ? [255, 255, 255, 255] : [0, 0, 0, 200]),
    getLineWidth: (d) => (d.id === selected ? 3 : 1),
    radiusUnits: 'pixels',
    lineWidthUnits: 'pixels',
    stroked: true,
    pickable: true,
    onClick: (info) => {
      if (info.object) onClick(info.object);
      return true;
    },
    updateTriggers: {
      getLineColor: selected,
      getLineWidth: selected,
      getFillColor: version,
      getRadius: version,
    },
  });
}
