import { AGE_BANDS } from '../../../contract/baseLibraries.ts';
import type { TableDefinition } from './table.ts';

/**
 * The base libraries (docs/base.md), versioned: every row is a version valid from `valid_from_ms` until the
 * next row of the same key, and `deleted = 1` ends the key (a tombstone). Nothing is updated in place, so a
 * question can be asked as the libraries stood at any time. A member of a building (a dwelling, a resident,
 * a legal person) is keyed by (building_id, member id): a move is a tombstone at the old building and a
 * row at the new one, so that everything about one building is read from one range of its sort key.
 * ReplacingMergeTree drops a version written twice (a replayed load or feed). Granules of 1,024 rows rather
 * than 8,192: a join reads the few hundred buildings around a place, not ranges.
 */
/**
 * `provenance`: the feed's topic and offset, the batch file and its hash, or the grid staff member;
 * `written_at`: the writer's clock, which department copies read forward by.
 */
const VERSION_COLUMNS = [
  'valid_from_ms UInt64',
  'deleted UInt8',
  'source String',
  'provenance String',
  'written_at DateTime',
] as const;
/** Of two rows of one version (a correction at the same instant), the later write wins. */
const versioned = (key: string) =>
  `ReplacingMergeTree(written_at) ORDER BY (${key}, valid_from_ms) SETTINGS index_granularity = 1024`;

export const baseBuildings: TableDefinition = {
  name: 'base_buildings',
  database: 'city',
  columns: [
    'building_id String',
    ...VERSION_COLUMNS,
    'district String',
    'cell String',
    'lat Float64',
    'lon Float64',
    'use String',
    'floors UInt16',
  ],
  engine: versioned('building_id'),
};

export const baseDwellings: TableDefinition = {
  name: 'base_dwellings',
  database: 'city',
  columns: [
    'building_id String',
    'dwelling_id String',
    ...VERSION_COLUMNS,
    'floor_area_m2 UInt16',
    'rooms UInt8',
  ],
  engine: versioned('building_id, dwelling_id'),
};

/** Legal persons at their sites. Their names and representatives are not kept here. */
export const baseLegalPersons: TableDefinition = {
  name: 'base_legal_persons',
  database: 'city',
  columns: [
    'building_id String',
    'legal_person_id String',
    ...VERSION_COLUMNS,
    'industry String',
    'employees UInt32',
  ],
  engine: versioned('building_id, legal_person_id'),
};

/** People's personal data: the restricted database only. `birth_date` is YYYY-MM-DD (many precede 1970). */
export const basePeople: TableDefinition = {
  name: 'base_people',
  database: 'restricted',
  columns: [
    'person_id String',
    ...VERSION_COLUMNS,
    'name String',
    'id_number String',
    'phone String',
    'birth_date String',
  ],
  engine: versioned('person_id'),
};

/** Where people are registered, with what counting them by age needs (days since 1970, negative before). */
export const baseResidence: TableDefinition = {
  name: 'base_residence',
  database: 'restricted',
  columns: [
    'building_id String',
    'person_id String',
    ...VERSION_COLUMNS,
    'dwelling_id String',
    'birth_day Int32',
  ],
  engine: versioned('building_id, person_id'),
};

const impactColumns = (residentType: string): string[] => [
  'incident_id String',
  'ts_ms UInt64',
  'ts DateTime',
  'district String',
  'radius_m Float64',
  'buildings UInt32',
  'dwellings UInt32',
  ...AGE_BANDS.map((band) => `residents_${band} ${residentType}`),
  'legal_persons UInt32',
  /** JSON object industry -> count. */
  'by_industry String',
  /** JSON array of the schools, hospitals, chemical and hazardous sites: id, industry, building, distance. */
  'sensitive_sites String',
  /** JSON array of [building_id, lat, lon] of the buildings within the radius (the map's layer). */
  'affected_buildings String',
  'computed_at DateTime',
];

/**
 * Who and what an incident touches, as the base libraries stood at its first open report (docs/base.md):
 * residents by age band with counts of 1 to 4 stored as NULL (shown as "<5").
 */
export const incidentBaseImpact: TableDefinition = {
  name: 'incident_base_impact',
  database: 'city',
  columns: impactColumns('Nullable(UInt32)'),
  engine: 'ReplacingMergeTree(computed_at) PARTITION BY toYYYYMM(ts) ORDER BY incident_id',
};

/** The same with exact counts: the restricted database only. */
export const incidentBaseImpactExact: TableDefinition = {
  name: 'incident_base_impact_exact',
  database: 'restricted',
  columns: impactColumns('UInt32'),
  engine: 'ReplacingMergeTree(computed_at) PARTITION BY toYYYYMM(ts) ORDER BY incident_id',
};

/**
 * Each member's versions by member (a dwelling, a resident, a legal person): which building it belongs to
 * from when, and its own columns as JSON (`attributes`). The feed applier reads a member's history here by
 * its key, to end its row at the building it leaves; restricted, since a resident's history is an address
 * history.
 */
export const baseMembership: TableDefinition = {
  name: 'base_membership',
  database: 'restricted',
  columns: ['kind String', 'member_id String', ...VERSION_COLUMNS, 'building_id String', 'attributes String'],
  engine: versioned('kind, member_id'),
};
export const MEMBER_KINDS = ['dwelling', 'resident', 'legal_person'] as const;
export type MemberKind = (typeof MEMBER_KINDS)[number];

export const BASE_LIBRARY_TABLES = [
  baseBuildings,
  baseDwellings,
  baseLegalPersons,
  basePeople,
  baseResidence,
  baseMembership,
] as const;
