import { describe, expect, it } from 'vitest';
import { isCityOpsError } from '../../../engine/errors.ts';
import {
  DAILY_EVENTS,
  formatShanghaiTime,
  parseDuration,
  resolveSimulationOptions,
} from '../../../engine/simulator/simulationOptions.ts';

const NOW = Date.parse('2026-11-26T15:30:00+08:00');

describe('resolveSimulationOptions', () => {
  it('replays yesterday (Asia/Shanghai) by default: 20 million events over 24 h, as fast as possible', () => {
    const o = resolveSimulationOptions({}, NOW);
    expect(formatShanghaiTime(o.start)).toBe('2026-11-25T00:00:00+08:00');
    expect(o.end - o.start).toBe(86_400_000);
    expect(o).toMatchObject({
      seed: 1,
      events: DAILY_EVENTS,
      live: false,
      rate: 'max',
      badRatio: 0,
      duplicateRatio: 0,
      outsideRatio: 0.005,
      maxDelayMs: 2_000,
      surges: [],
    });
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('scales the default volume with the duration, and spreads given events over it', () => {
    expect(resolveSimulationOptions({ duration: '90m' }, NOW).events).toBe(1_250_000);
    const o = resolveSimulationOptions(
      { events: 20_000, duration: '10m', start: '2026-11-26T08:00:00+08:00' },
      NOW,
    );
    expect(o).toMatchObject({ events: 20_000, start: Date.parse('2026-11-26T08:00:00+08:00') });
    expect(o.end - o.start).toBe(600_000);
  });

  it('live: starts now, runs until stopped at 20 M a day on average', () => {
    const o = resolveSimulationOptions({ live: true }, NOW + 123);
    expect(o).toMatchObject({
      live: true,
      start: NOW,
      end: Number.POSITIVE_INFINITY,
      events: Number.POSITIVE_INFINITY,
    });
    expect(o.rate).toBeCloseTo(231.48, 2);
    expect(resolveSimulationOptions({ live: true, duration: '30s', rate: '50' }, NOW)).toMatchObject({
      end: NOW + 30_000,
      rate: 50,
    });
  });

  it('accepts flag strings, as the CLI passes them', () => {
    const o = resolveSimulationOptions(
      {
        seed: '42',
        events: '1000',
        badRatio: '0.1',
        duplicateRatio: '0.02',
        maxDelayMs: '500',
        rate: '2000',
        start: '2026-11-26T00:00:00Z',
      },
      NOW,
    );
    expect(o).toMatchObject({
      seed: 42,
      events: 1000,
      badRatio: 0.1,
      duplicateRatio: 0.02,
      maxDelayMs: 500,
      rate: 2000,
    });
  });

  it('parses surges, with districts by code, English or Chinese name', () => {
    const o = resolveSimulationOptions(
      {
        surge: [
          'district=440304,start=2026-11-26T10:00:00+08:00,minutes=10,factor=5',
          "district=Bao'an,start=2026-11-26T11:00:00+08:00,minutes=2,factor=1.5",
          { district: '南山区', start: '2026-11-26T12:00:00+08:00', minutes: 1, factor: 3 },
        ],
      },
      NOW,
    );
    expect(o.surges).toEqual([
      { district: '440304', start: Date.parse('2026-11-26T10:00:00+08:00'), minutes: 10, factor: 5 },
      { district: '440306', start: Date.parse('2026-11-26T11:00:00+08:00'), minutes: 2, factor: 1.5 },
      { district: '440305', start: Date.parse('2026-11-26T12:00:00+08:00'), minutes: 1, factor: 3 },
    ]);
  });

  it('rejects bad values with CONFIG_INVALID naming the flag', () => {
    const fails = (input: Parameters<typeof resolveSimulationOptions>[0], pattern: RegExp) => {
      try {
        resolveSimulationOptions(input, NOW);
        expect.unreachable('should have thrown');
      } catch (error) {
        expect(isCityOpsError(error) && error.code).toBe('CONFIG_INVALID');
        expect((error as Error).message).toMatch(pattern);
      }
    };
    fails({ badRatio: 0.9 }, /badRatio \(--bad-ratio\)/);
    fails({ start: '2026-11-26T10:00:00' }, /start \(--start\): must be ISO-8601 with a time zone/);
    fails({ duration: 'soon' }, /duration \(--duration\): must be a positive span/);
    fails(
      { surge: ['district=Gotham,start=2026-11-26T10:00:00Z,minutes=1,factor=2'] },
      /unknown district 'Gotham'/,
    );
    fails({ surge: ['district=440304,start=2026-11-26T10:00:00Z,minutes=1,factor=0.5'] }, /surge\.0\.factor/);
    fails({ rate: 'fast' }, /rate \(--rate\)/);
    fails({ maxDelayMs: -1 }, /maxDelayMs \(--max-delay-ms\)/);
  });
});

describe('parseDuration', () => {
  it('reads spans in d, h, m, s and ms, combined, or bare milliseconds', () => {
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('90m')).toBe(5_400_000);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('1500')).toBe(1_500);
    expect(parseDuration(2_000)).toBe(2_000);
    for (const bad of ['', 'h', '10 minutes', '-5m', '1x']) expect(parseDuration(bad)).toBeUndefined();
  });
});
