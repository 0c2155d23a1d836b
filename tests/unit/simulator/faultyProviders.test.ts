import { describe, expect, it } from 'vitest';
import { type SimulatedMessage, simulateCity } from '../../../engine/simulator/simulateCity.ts';
import { PROVIDER_FAULTS } from '../../../engine/simulator/simulationOptions.ts';

const START = Date.parse('2026-11-26T08:00:00+08:00');
const OPTIONS = { seed: 3, start: START, duration: '150m', events: 30_000 };

/** `--faulty-providers`: what the sharing assessment is to see, and nothing else changed. */
describe('the simulator’s faulty providers', () => {
  const plain = [...simulateCity(OPTIONS)];
  const faulty = [...simulateCity({ ...OPTIONS, faultyProviders: true })];
  const of = (messages: SimulatedMessage[], stream: string) => messages.filter((m) => m.stream === stream);

  it('keeps the population provider silent for the run’s second hour, and only then', () => {
    const from = START + PROVIDER_FAULTS.silentAfterMs;
    const to = from + PROVIDER_FAULTS.silentForMs;
    const inHour = (m: SimulatedMessage) => m.ts >= from && m.ts < to;
    expect(of(plain, 'population').filter(inHour).length).toBeGreaterThan(100);
    expect(of(faulty, 'population').filter(inHour)).toEqual([]);
    expect(of(faulty, 'population').filter((m) => m.ts < from).length).toBeGreaterThan(100);
  });

  it('gives the events provider about 5% more invalid records', () => {
    const share = (messages: SimulatedMessage[]) =>
      of(messages, 'events').filter((m) => m.kind === 'invalid').length / of(messages, 'events').length;
    expect(share(plain)).toBe(0);
    expect(share(faulty)).toBeGreaterThan(0.03);
    expect(share(faulty)).toBeLessThan(0.07);
  });

  it('publishes the transport provider’s records 90 s late', () => {
    // Publication order: when a transport record is published, the other streams are ~90 s ahead of it.
    let frontier = 0;
    const behind: number[] = [];
    for (const m of faulty) {
      if (m.stream === 'transport') behind.push(frontier - m.ts);
      else frontier = Math.max(frontier, m.ts);
    }
    behind.sort((a, b) => a - b);
    const median = behind[Math.floor(behind.length / 2)]!;
    expect(median).toBeGreaterThan(PROVIDER_FAULTS.lateMs - 5_000);
    expect(median).toBeLessThan(PROVIDER_FAULTS.lateMs + 5_000);
  });
});
