import { describe, expect, it } from 'vitest';
import { mapInput } from '../../../../operators/library/aggregates/mapInput.ts';
import { sum } from '../../../../operators/library/aggregates/sum.ts';
import { fold } from './aggregateLaws.ts';

describe('mapInput', () => {
  it('feeds the aggregate a derived value and keeps its name, merge and serialisation', () => {
    const speed = mapInput((v: { speedKmh: number }) => v.speedKmh, sum());
    expect(speed.name).toBe('sum');
    const a = fold(speed, [{ speedKmh: 10 }, { speedKmh: 5 }]);
    const b = fold(speed, [{ speedKmh: 1 }]);
    expect(speed.result(speed.merge(a, b))).toBe(16);
    expect(speed.result(speed.fromJSON(JSON.parse(JSON.stringify(speed.toJSON(a)))))).toBe(15);
  });
});
