import { describe, expect, it } from 'vitest';
import { Topology } from '../../../../operators/topology/Topology.ts';
import { TumblingWindows } from '../../../../operators/windows/TumblingWindows.ts';

describe('Topology', () => {
  const build = () =>
    new Topology()
      .addSource('gps', { detail: 'topic: transport.gps' })
      .addSource('incidents', { detail: 'topic: city.events' })
      .addOperator('district', ['gps'], { detail: 'lookup DistrictIndex' })
      .addOperator('per-minute', ['district'], {
        detail: String(TumblingWindows.ofSizeAndGrace(60_000, 5_000)),
      })
      .addOperator('nearby-vehicles', ['incidents', 'gps'], { detail: 'geoIntervalJoin 500 m, 0..600 s' })
      .addSink('clickhouse', ['per-minute'], { detail: 'table: traffic_per_minute' })
      .addSink('alerts', ['nearby-vehicles'])
      .addSource('population')
      .addSink('population-store', ['population']);

  it('describes itself as stable text', () => {
    expect(build().describe()).toMatchInlineSnapshot(`
      "Topology
        Sub-topology: 0
          Source: gps (topic: transport.gps)
            --> district
            --> nearby-vehicles
          Source: incidents (topic: city.events)
            --> nearby-vehicles
          Operator: district (lookup DistrictIndex)
            --> per-minute
            <-- gps
          Operator: per-minute (TumblingWindows(size=60000ms, grace=5000ms))
            --> clickhouse
            <-- district
          Operator: nearby-vehicles (geoIntervalJoin 500 m, 0..600 s)
            --> alerts
            <-- incidents
            <-- gps
          Sink: clickhouse (table: traffic_per_minute)
            <-- per-minute
          Sink: alerts
            <-- nearby-vehicles
        Sub-topology: 1
          Source: population
            --> population-store
          Sink: population-store
            <-- population
      "
    `);
    expect(build().describe()).toBe(build().describe());
  });

  it('exposes nodes and edges as plain data', () => {
    const t = build();
    expect(t.edges().slice(0, 3)).toEqual([
      ['gps', 'district'],
      ['district', 'per-minute'],
      ['incidents', 'nearby-vehicles'],
    ]);
    expect(JSON.parse(JSON.stringify(t)).nodes[0]).toEqual({
      name: 'gps',
      kind: 'source',
      parents: [],
      detail: 'topic: transport.gps',
    });
    expect(new Topology().describe()).toBe('Topology\n  (empty)\n');
  });

  it('validates names and edges', () => {
    const t = new Topology().addSource('gps');
    expect(() => t.addSource('gps')).toThrow('topology node name "gps" is already used');
    expect(() => t.addOperator('x', ['nope'])).toThrow(
      'topology node "x": parent "nope" does not exist (add it first)',
    );
    expect(() => t.addOperator('y', [])).toThrow('topology operator "y" needs at least one parent');
    expect(() => t.addOperator('bad name', ['gps'])).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    t.addSink('out', ['gps']);
    expect(() => t.addOperator('z', ['out'])).toThrow('topology node "z": parent "out" is a sink');
  });
});
