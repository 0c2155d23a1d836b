import { describe, expect, it } from 'vitest';
import { ALL_DISTRICTS, exactness } from '../../../bench/peers/exactness.ts';
import type { SimulationTruthFile, TruthWindow } from '../../../engine/simulator/SimulationTruth.ts';

const window = (district: string, start: number, events: number) =>
  ({ stream: 'transport', district, window_start: start, events }) as TruthWindow;
const truth = {
  windows: [window('440303', 0, 5), window('440304', 0, 3), window('440303', 60_000, 2)],
} as SimulationTruthFile;

describe("bench:peers' comparison with the simulator's truth", () => {
  it('counts equal windows, events over and under, and windows the truth does not have', () => {
    const result = exactness(
      truth,
      new Map([
        ['transport|440303|0', 5],
        ['transport|440304|0', 4],
        ['transport|outside|60000', 2],
      ]),
    );
    expect(result).toEqual({
      windows: 3,
      equal: 1,
      off: 3,
      extraWindows: 1,
      eventsOver: 3,
      eventsUnder: 2,
      exactlyCountedEvents: 5,
    });
  });

  it('compares a per-minute result with the truth summed over districts', () => {
    const result = exactness(
      truth,
      new Map([
        [`transport|${ALL_DISTRICTS}|0`, 8],
        [`transport|${ALL_DISTRICTS}|60000`, 3],
      ]),
    );
    expect(result).toMatchObject({ windows: 2, equal: 1, off: 1, eventsOver: 1, exactlyCountedEvents: 8 });
  });
});
