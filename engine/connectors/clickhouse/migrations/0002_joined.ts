import { districtPulse, finalizerProgress, incidentImpact, openIncidents } from '../tables/joined.ts';
import { createTable } from '../tables/table.ts';

/**
 * The integration layer (engine/connectors/clickhouse/tables/joined.ts): the three streams joined,
 * written by the engine's finalizer once each row is final, and the finalizer's own state. Idempotent.
 */
export const statements = (db: { city: string; restricted: string }): string[] =>
  [districtPulse, incidentImpact, openIncidents, finalizerProgress].map((t) => createTable(t, db));
