/**
 * The city's calendar: Shenzhen keeps UTC+8 all year (no daylight saving), so a city day is a fixed
 * offset from UTC. Every daily figure of the exchange (the scorecard, answer deadlines, transactions per
 * day) starts its days here.
 */
/** The zone's name, for ClickHouse's date functions (`toDate(ts, CITY_TIME_ZONE)`). */
export const CITY_TIME_ZONE = 'Asia/Shanghai';
export const CITY_OFFSET_S = 8 * 3600;
export const CITY_OFFSET_MS = CITY_OFFSET_S * 1000;
export const DAY_MS = 86_400_000;

/** The start (epoch ms) of the city day that holds `at`. */
export function cityDayStart(at: number): number {
  return Math.floor((at + CITY_OFFSET_MS) / DAY_MS) * DAY_MS - CITY_OFFSET_MS;
}

/** SQL for the start of the city period (`stepS` seconds: an hour or a day) holding DateTime `column`. */
export function cityPeriodSql(column: string, stepS: number): string {
  return `toDateTime(intDiv(toUInt32(${column}) + ${CITY_OFFSET_S}, ${stepS}) * ${stepS} - ${CITY_OFFSET_S})`;
}
