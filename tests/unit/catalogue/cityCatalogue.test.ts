import { describe, expect, it } from 'vitest';
import { AlertEventData } from '../../../engine/alerts/alertEvent.ts';
import { loadCatalogue } from '../../../engine/catalogue/loadCatalogue.ts';
import { exitItems } from '../../../engine/catalogue/negativeList.ts';
import * as atomic from '../../../engine/connectors/clickhouse/tables/atomic.ts';
import * as base from '../../../engine/connectors/clickhouse/tables/base.ts';
import * as cases from '../../../engine/connectors/clickhouse/tables/cases.ts';
import * as joined from '../../../engine/connectors/clickhouse/tables/joined.ts';
import * as layers from '../../../engine/connectors/clickhouse/tables/layers.ts';
import { columnNames, type TableDefinition } from '../../../engine/connectors/clickhouse/tables/table.ts';
import {
  DistrictPulseMessage,
  DistrictWindowMessage,
  IncidentImpactMessage,
  IncidentMessage,
  PopulationCellsMessage,
  VehiclePositionsMessage,
  WatermarkMessage,
} from '../../../engine/contract/aggregates.ts';
import { RECORD_SCHEMAS } from '../../../engine/contract/exchangeRecords.ts';

const TABLES = new Map<string, TableDefinition>(
  [atomic, base, joined, layers, cases]
    .flatMap((m) => Object.values(m))
    .filter((v): v is TableDefinition => typeof v === 'object' && v !== null && 'columns' in v)
    .map((t) => [`${t.database === 'restricted' ? 'city_restricted' : 'city'}.${t.name}`, t]),
);

/** Field names of a record schema, nested objects as `parent.child`. */
function fields(shape: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(shape).flatMap(([key, value]) => {
    let inner = value as { shape?: Record<string, unknown>; unwrap?: () => unknown };
    while (inner.shape === undefined && typeof inner.unwrap === 'function')
      inner = inner.unwrap() as typeof inner;
    return inner.shape ? fields(inner.shape, `${prefix}${key}.`) : [`${prefix}${key}`];
  });
}

describe('the city catalogue (config/catalogue.yaml)', async () => {
  const { catalogue } = await loadCatalogue();
  const byId = new Map(catalogue.resources.map((r) => [r.id, r]));
  const items = (id: string) => byId.get(id)?.items.map((i) => i.id);

  it('lists every column of each table a class is backed by, in the table’s order', () => {
    const backed = catalogue.resources.filter((r) => r.source.startsWith('table '));
    expect(backed.length).toBeGreaterThanOrEqual(10);
    for (const r of backed) {
      const table = TABLES.get(r.source.slice('table '.length));
      expect(table, `${r.id}: ${r.source} is not a table definition`).toBeDefined();
      expect(items(r.id), r.id).toEqual(columnNames(table!));
    }
  });

  it('lists the fields of the wire formats its stream, map and alert classes stand for', () => {
    expect(items('input.transport')).toEqual(fields(RECORD_SCHEMAS.transport.shape));
    expect(items('input.events')).toEqual(fields(RECORD_SCHEMAS.events.shape));
    expect(items('input.population')).toEqual(fields(RECORD_SCHEMAS.population.shape));
    expect(items('map.districts')).toEqual(Object.keys(DistrictWindowMessage.shape));
    expect(items('map.vehicles')).toEqual(Object.keys(VehiclePositionsMessage.shape.vehicles.element.shape));
    expect(items('map.cells')).toEqual(Object.keys(PopulationCellsMessage.shape.cells.element.shape));
    expect(items('map.incidents')).toEqual(Object.keys(IncidentMessage.shape));
    expect(items('map.incident_impact')).toEqual(Object.keys(IncidentImpactMessage.shape));
    expect(items('map.pulse')).toEqual(Object.keys(DistrictPulseMessage.shape));
    expect(items('map.status')).toEqual(Object.keys(WatermarkMessage.shape));
    expect(items('alerts.webhooks')).toEqual(Object.keys(AlertEventData.shape));
  });

  it('lets no reporter identity or raw payload out of any class', () => {
    for (const r of catalogue.resources) {
      for (const id of exitItems(catalogue, r))
        expect(id, r.id).not.toMatch(/^reporter|^has_reporter$|^payload$/);
    }
    expect(exitItems(catalogue, byId.get('raw.events')!)).toEqual([]);
  });

  it('masks every free text and every personal field that the analysts’ database holds', () => {
    const masked = (id: string, item: string) => byId.get(id)?.items.find((i) => i.id === item)?.masking;
    expect(masked('cleaned.events', 'reporter_name')).toBe('mask_name');
    expect(masked('cleaned.events', 'reporter_phone')).toBe('mask_phone');
    expect(masked('cleaned.events', 'reporter_id_number')).toBe('mask_id_number');
    expect(masked('cleaned.events', 'description')).toBe('mask_free_text');
    expect(masked('raw.dead_letters', 'detail')).toBe('mask_free_text');
  });
});
