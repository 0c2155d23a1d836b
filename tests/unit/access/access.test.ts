import { mkdtempSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { checkDepartmentNames } from '../../../engine/access/departmentDatabases.ts';
import {
  departmentOfToken,
  issueDepartmentToken,
  readDepartmentTokens,
} from '../../../engine/access/departmentTokens.ts';
import { LAYER_CLASSES, refusalOf } from '../../../engine/access/exits.ts';
import { grantProblems } from '../../../engine/access/grantStore.ts';
import { GrantsCache } from '../../../engine/access/grantsCache.ts';
import { layerAccess } from '../../../engine/access/layerCut.ts';
import { createAuthorize, tokensFromFile } from '../../../engine/access/mapAccess.ts';
import { loadCatalogue } from '../../../engine/catalogue/loadCatalogue.ts';
import type { Grant } from '../../../engine/catalogue/projection.ts';
import { LAYERS } from '../../../engine/server/protocol.ts';

const { catalogue } = await loadCatalogue();
const HOUR = 3_600_000;
const grant = (change: Partial<Grant> = {}): Grant => ({
  id: 'g1',
  department: 'emergency',
  resource: 'map.vehicles',
  items: ['*'],
  purpose: 'evacuation routing',
  approved_by: 'transport',
  valid_from: new Date(Date.now() - HOUR).toISOString(),
  valid_until: new Date(Date.now() + HOUR).toISOString(),
  ...change,
});

describe('the exits of the map server', () => {
  it('name a catalogue class for every layer', () => {
    const ids = new Set(catalogue.resources.map((r) => r.id));
    for (const layer of LAYERS) for (const id of LAYER_CLASSES[layer]) expect(ids.has(id), id).toBe(true);
  });

  it('open a layer whole when the grant covers every item that may leave, cut when it names some', () => {
    const policy = (grants: Grant[]) => ({ catalogue, grants: () => grants });
    const topicRefusal = (p: ReturnType<typeof policy>, department: string, topic: string) => {
      const access = layerAccess(p, department, topic);
      return 'refused' in access ? access.refused : 'cut' in access ? `cut ${access.cut.key}` : undefined;
    };
    expect(topicRefusal(policy([]), 'emergency', 'vehicles/440304')).toBe('map.vehicles: no live grant');
    expect(topicRefusal(policy([]), 'emergency', 'districts')).toBeUndefined();
    expect(topicRefusal(policy([grant()]), 'emergency', 'vehicles/440304')).toBeUndefined();
    expect(
      topicRefusal(
        policy([grant({ items: ['vehicle', 'lat', 'lon', 'district'] })]),
        'emergency',
        'vehicles/1',
      ),
    ).toBe('cut vehicle,lat,lon,district|');
    // The key and the district show in every frame: a cut must name them.
    expect(topicRefusal(policy([grant({ items: ['lat', 'lon'] })]), 'emergency', 'vehicles/1')).toBe(
      'map.vehicles: the grant does not name vehicle, district, which every frame shows',
    );
    // The class's own provider needs no grant; another department's grant opens nothing.
    expect(topicRefusal(policy([]), 'transport', 'vehicles/440304')).toBeUndefined();
    expect(topicRefusal(policy([grant()]), 'health', 'vehicles/440304')).toBe('map.vehicles: no live grant');
    // incidents show two classes: with the first only, the impact goes out as null.
    const incidents = grant({ resource: 'map.incidents' });
    expect(topicRefusal(policy([incidents]), 'emergency', 'incidents/1')).toMatch(/^cut kind,id,.*\|$/);
    // An item masked `drop` (the reporter) is never asked of a grant: it never leaves.
    expect(refusalOf(policy([incidents]), 'emergency', 'map.incidents')).toBeUndefined();
  });

  it('judge expiry at the time asked, and refuse a revoked grant', () => {
    const policy = (g: Grant) => ({ catalogue, grants: () => [g] });
    const ended = grant({
      valid_until: new Date(Date.now() - 1000).toISOString(),
      valid_from: new Date(Date.now() - HOUR).toISOString(),
    });
    expect(refusalOf(policy(ended), 'emergency', 'map.vehicles')).toBe('map.vehicles: no live grant');
    const revoked = grant({ revoked_at: new Date(Date.now() - 1000).toISOString() });
    expect(refusalOf(policy(revoked), 'emergency', 'map.vehicles')).toBe('map.vehicles: no live grant');
  });
});

describe('a layer cut to a grant of some items', () => {
  const policy = (grants: Grant[]) => ({ catalogue, grants: () => grants });
  const cutOf = (grants: Grant[], topic: string) => {
    const access = layerAccess(policy(grants), 'emergency', topic);
    if (!('cut' in access)) throw new Error(`not cut: ${JSON.stringify(access)}`);
    return access.cut;
  };

  it('leaves the positions of an array layer it does not name null', () => {
    const cut = cutOf([grant({ items: ['vehicle', 'mode', 'ts', 'district'] })], 'vehicles/440304');
    expect(cut.value([114.05, 22.54, 'bus', 31.5, 1_800_000_000_000])).toEqual([
      null,
      null,
      'bus',
      null,
      1_800_000_000_000,
    ]);
    expect(cut.value('not an array')).toBeNull();
  });

  it('keeps the items of an object layer it names, masks them by their rule, and the impact by its own grant', () => {
    const incident = {
      id: 'i1',
      ts: 1,
      category: 'fire',
      severity: 'high',
      status: 'open',
      lat: 22.5,
      lon: 114.1,
      district: '440304',
      cell: '8a',
      source: 'hotline',
      description: 'call 13812345678 at the gate',
      impact: {
        ts: 1,
        radius_m: 500,
        band_ms: 60_000,
        vehicles: 4,
        people_present: 120,
        nearest_vehicles: [],
      },
    };
    const some = grant({
      resource: 'map.incidents',
      items: ['incident_id', 'district', 'category', 'description'],
    });
    expect(cutOf([some], 'incidents/440304').value(incident)).toEqual({
      district: '440304',
      category: 'fire',
      description: expect.not.stringContaining('13812345678'),
      impact: null,
    });
    const impact = grant({ id: 'g2', resource: 'map.incident_impact', items: ['incident_id', 'vehicles'] });
    expect(cutOf([some, impact], 'incidents/440304').value(incident)).toMatchObject({
      impact: { vehicles: 4 },
    });
    expect(cutOf([some, impact], 'incidents/440304').key).not.toBe(cutOf([some], 'incidents/440304').key);
  });
});

describe('grants checked against the catalogue', () => {
  it('name a department, a conditional class and items of it', () => {
    expect(grantProblems(catalogue, grant())).toEqual([]);
    expect(grantProblems(catalogue, grant({ department: 'nobody', items: ['nope', 'lat'] }))).toEqual([
      "department 'nobody' is not in the catalogue",
      "item pattern 'nope' matches no item of 'map.vehicles'",
    ]);
    expect(grantProblems(catalogue, grant({ resource: 'map.districts' }))).toEqual([
      "'map.districts' is shared 'unconditional': only a conditional class is granted",
    ]);
    expect(grantProblems(catalogue, grant({ resource: 'raw.events' }))[0]).toMatch(/shared 'none'/);
  });
});

describe('the grants cache', () => {
  it('keeps the last grants through a failed read, then fails closed once they are too old', async () => {
    vi.useFakeTimers();
    try {
      let fail = false;
      const changes: number[] = [];
      const cache = new GrantsCache(
        async () => {
          if (fail) throw new Error('ClickHouse is down');
          return [grant()];
        },
        { refreshMs: 15_000, maxAgeMs: 45_000, onChange: (g) => changes.push(g.length) },
      );
      await cache.start();
      expect(cache.grants()).toHaveLength(1);
      fail = true;
      await vi.advanceTimersByTimeAsync(30_000);
      expect(cache.grants()).toHaveLength(1);
      expect(cache.health()).toMatchObject({ ok: true, error: 'ClickHouse is down' });
      await vi.advanceTimersByTimeAsync(16_000);
      expect(cache.grants()).toEqual([]);
      expect(cache.health().ok).toBe(false);
      expect(changes).toEqual([1, 0]);
      fail = false;
      await vi.advanceTimersByTimeAsync(15_000);
      expect(cache.grants()).toHaveLength(1);
      cache.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('department tokens', () => {
  const dir = mkdtempSync(join(tmpdir(), 'city-ops-tokens-'));

  it('keep only digests, replace a department’s old token, and are private to the owner', async () => {
    const path = join(dir, 'tokens.json');
    const first = await issueDepartmentToken(path, catalogue, 'emergency');
    const second = await issueDepartmentToken(path, catalogue, 'emergency');
    const other = await issueDepartmentToken(path, catalogue, 'health');
    const entries = readDepartmentTokens(path);
    expect(entries.map((e) => e.department).sort()).toEqual(['emergency', 'health']);
    expect(JSON.stringify(entries)).not.toContain(second);
    expect(departmentOfToken(entries, first)).toBeUndefined();
    expect(departmentOfToken(entries, second)).toBe('emergency');
    expect(departmentOfToken(entries, other)).toBe('health');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await expect(issueDepartmentToken(path, catalogue, 'nobody')).rejects.toThrow(/not in the catalogue/);
  });

  it('refuse every department token while the file is broken, and say so', async () => {
    const path = join(dir, 'broken.json');
    const token = await issueDepartmentToken(path, catalogue, 'emergency');
    const problems: unknown[] = [];
    const tokens = tokensFromFile(path, (e) => problems.push(e));
    const authorize = createAuthorize('operator-token-16ch', {
      tokens,
      policy: { catalogue, grants: () => [] },
    });
    expect(authorize(token)?.department).toBe('emergency');
    writeFileSync(path, '{"version": 1, "tokens": [{"department": 1}]}');
    const later = new Date(Date.now() + 5000);
    utimesSync(path, later, later);
    expect(authorize(token)).toBeUndefined();
    expect(String(problems[0])).toMatch(/invalid department tokens file .*tokens\.0/);
    expect(authorize('operator-token-16ch')?.subject).toBe('operator');
    expect(authorize(undefined)).toBeUndefined();
  });
});

describe('department databases', () => {
  it('are refused to two departments whose names would meet in one database', () => {
    expect(() => checkDepartmentNames([{ id: 'public-security' }, { id: 'health' }])).not.toThrow();
    expect(() => checkDepartmentNames([{ id: 'public-security' }, { id: 'public_security' }])).toThrow(
      /'public-security' and 'public_security' would share city_dept_public_security/,
    );
  });
});
