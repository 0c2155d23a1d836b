import { CITY_TIME_ZONE } from '../../../access/cityCalendar.ts';
import { AGE_BANDS, INDUSTRIES } from '../../../contract/baseLibraries.ts';

/**
 * The analysts' mart of the base impact (docs/base.md): per district and city day, how many incidents
 * touched how many buildings, dwellings, residents by age band and legal persons by industry. Sums run over
 * incidents, so a building two incidents reach counts twice. A resident count of 1 to 4 is NULL in
 * `incident_base_impact` and stays out of the sum; `residents_<band>_hidden` counts the incidents it was
 * hidden for, each of which adds 1 to 4 more. Sums of counts that are 0 or at least 5 are 0 or at least 5,
 * so the mart reveals no small group either.
 */
export const statements = (db: { city: string; restricted: string }): string[] => [
  `CREATE VIEW IF NOT EXISTS ${db.city}.district_base_impact_day AS
    SELECT
      district,
      toDate(ts, '${CITY_TIME_ZONE}') AS day,
      count() AS incidents,
      sum(buildings) AS buildings,
      sum(dwellings) AS dwellings,
      ${AGE_BANDS.map(
        (band) =>
          `sum(ifNull(r_${band}, 0)) AS residents_${band}, countIf(isNull(r_${band})) AS residents_${band}_hidden`,
      ).join(',\n      ')},
      sum(legal_persons) AS legal_persons,
      ${INDUSTRIES.map((i) => `sum(visitParamExtractUInt(by_industry, '${i}')) AS legal_persons_${i}`).join(',\n      ')}
    FROM (
      -- renamed: an output column named like its input would be read back as the aggregate (ClickHouse aliases)
      SELECT *, ${AGE_BANDS.map((band) => `residents_${band} AS r_${band}`).join(', ')}
      FROM ${db.city}.incident_base_impact FINAL
    )
    GROUP BY district, day`,
];
