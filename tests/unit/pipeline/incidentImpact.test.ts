import { gridDisk, latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import { computeIncidentImpact, type IncidentOpening } from '../../../engine/pipeline/incidentImpact.ts';
import { haversineMeters } from '../../../operators/geo/haversineMeters.ts';

const incident: IncidentOpening = {
  incident_id: 'i-1',
  id: 'e-1',
  ts_ms: 1_000_000,
  district: '440304',
  category: 'fire',
  severity: 4,
  lat: 22.54,
  lon: 114.05,
  cell: latLngToCell(22.54, 114.05, 8),
};
const options = { radiusM: 500, bandMs: 120_000, rings: 1, maxAgeMs: 900_000 };

describe('computeIncidentImpact', () => {
  it('joins vehicles by distance and time band, nearest first, each vehicle once', () => {
    const north = (metres: number) => 22.54 + metres / 110_750;
    const impact = computeIncidentImpact(
      incident,
      [
        { vehicle: 'b', mode: 'bus', lat: north(300), lon: 114.05, ts_ms: 1_000_000 + 60_000 },
        { vehicle: 'b', mode: 'bus', lat: north(100), lon: 114.05, ts_ms: 1_000_000 - 120_000 },
        { vehicle: 'a', mode: 'taxi', lat: north(100), lon: 114.05, ts_ms: 1_000_000 },
        { vehicle: 'far', mode: 'taxi', lat: north(600), lon: 114.05, ts_ms: 1_000_000 },
        { vehicle: 'old', mode: 'taxi', lat: north(10), lon: 114.05, ts_ms: 1_000_000 - 120_001 },
      ],
      [],
      options,
    );
    expect(impact.vehicles).toBe(2);
    expect(impact.vehicleObservations).toBe(3);
    expect(impact.nearest.map((v) => v.vehicle)).toEqual(['a', 'b']);
    expect(impact.nearest[0]!.distance_m).toBeCloseTo(haversineMeters(22.54, 114.05, north(100), 114.05), 1);
  });

  it('sums the latest population report per cell of the neighbourhood, not newer than the incident', () => {
    const [own, neighbour] = gridDisk(incident.cell, 1);
    const outside = gridDisk(incident.cell, 2).find((c) => !gridDisk(incident.cell, 1).includes(c))!;
    const impact = computeIncidentImpact(
      incident,
      [],
      [
        { cell: own!, ts_ms: 900_000, present: 100 },
        { cell: own!, ts_ms: 990_000, present: 120 },
        { cell: own!, ts_ms: 1_000_001, present: 999 },
        { cell: neighbour!, ts_ms: 1_000_000, present: 30 },
        { cell: outside, ts_ms: 999_000, present: 5_000 },
        { cell: neighbour!, ts_ms: 1_000_000 - 900_000, present: 7 },
      ],
      options,
    );
    expect(impact.peoplePresent).toBe(150);
    expect(impact.populationCells).toBe(2);
  });
});
