import type { SimulationTruthFile } from '../../engine/simulator/SimulationTruth.ts';

export interface Exactness {
  /** Windows (stream, district, minute; or stream, minute) in the truth. */
  readonly windows: number;
  readonly equal: number;
  /** Windows whose count differs from the truth, plus windows the truth does not have. */
  readonly off: number;
  readonly extraWindows: number;
  /** Events counted beyond the truth, summed over windows; and events missing. */
  readonly eventsOver: number;
  readonly eventsUnder: number;
  /** Events of the windows counted exactly: what "per exactly counted event" divides by. */
  readonly exactlyCountedEvents: number;
}

/** The district of a result counted per stream and minute only. */
export const ALL_DISTRICTS = '*';

/**
 * Compares a pipeline's per-minute counts (`stream|district|window start`) with the simulator's truth. A
 * result whose keys name `ALL_DISTRICTS` is compared with the truth summed over districts.
 */
export function exactness(truth: SimulationTruthFile, actual: ReadonlyMap<string, number>): Exactness {
  const byDistrict = ![...actual.keys()].some((key) => key.split('|')[1] === ALL_DISTRICTS);
  const expected = new Map<string, number>();
  for (const w of truth.windows) {
    const key = `${w.stream}|${byDistrict ? w.district : ALL_DISTRICTS}|${w.window_start}`;
    expected.set(key, (expected.get(key) ?? 0) + w.events);
  }
  let equal = 0;
  let off = 0;
  let over = 0;
  let under = 0;
  let exact = 0;
  for (const [key, events] of expected) {
    const counted = actual.get(key) ?? 0;
    if (counted === events) {
      equal++;
      exact += events;
    } else {
      off++;
      if (counted > events) over += counted - events;
      else under += events - counted;
    }
  }
  let extra = 0;
  for (const [key, counted] of actual) {
    if (expected.has(key) || counted === 0) continue;
    extra++;
    off++;
    over += counted;
  }
  return {
    windows: expected.size,
    equal,
    off,
    extraWindows: extra,
    eventsOver: over,
    eventsUnder: under,
    exactlyCountedEvents: exact,
  };
}
