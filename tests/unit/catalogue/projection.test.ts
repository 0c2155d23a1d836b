import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../../engine/catalogue/loadCatalogue.ts';
import { deniedItems, matchesPattern } from '../../../engine/catalogue/negativeList.ts';
import { type Grant, isLive, project, projectRecord } from '../../../engine/catalogue/projection.ts';

const { catalogue } = await loadCatalogue();
const DEPARTMENTS = catalogue.departments.map((d) => d.id);
const CLASSES = catalogue.resources.map((r) => r.id);
const T0 = Date.parse('2026-12-01T00:00:00Z');
const HOUR = 3_600_000;

function grant(change: Partial<Grant> = {}): Grant {
  return {
    id: 'g',
    department: 'emergency',
    resource: 'input.events',
    items: ['*'],
    purpose: 'emergency response',
    approved_by: 'urban-management',
    valid_from: new Date(T0).toISOString(),
    valid_until: new Date(T0 + 24 * HOUR).toISOString(),
    ...change,
  };
}

const grantArbitrary = fc.record({
  id: fc.string({ minLength: 1 }),
  department: fc.constantFrom(...DEPARTMENTS),
  resource: fc.constantFrom(...CLASSES),
  items: fc.array(fc.constantFrom('*', 'reporter*', 'lat', 'payload', 'description', 'vehicle'), {
    minLength: 1,
  }),
  purpose: fc.constant('a purpose'),
  approved_by: fc.constant('operations-centre'),
  valid_from: fc.integer({ min: -48, max: 48 }).map((h) => new Date(T0 + h * HOUR).toISOString()),
  valid_until: fc.integer({ min: 49, max: 96 }).map((h) => new Date(T0 + h * HOUR).toISOString()),
});

describe('project: what a department receives of a resource class', () => {
  it('never lets out a negative-list item, a dropped item or anything of a class not shared, whatever the grants', () => {
    fc.assert(
      fc.property(
        fc.array(grantArbitrary, { maxLength: 8 }),
        fc.constantFrom(...DEPARTMENTS),
        fc.constantFrom(...CLASSES),
        fc.integer({ min: -100, max: 100 }),
        (grants, department, resourceId, hour) => {
          const resource = catalogue.resources.find((r) => r.id === resourceId)!;
          const out = project(catalogue, grants, department, resourceId, T0 + hour * HOUR).items.map(
            (i) => i.id,
          );
          const denied = deniedItems(catalogue, resource);
          for (const id of out) expect(denied.has(id)).toBe(false);
          if (resource.sharing === 'none') expect(out).toEqual([]);
        },
      ),
    );
  });

  it('lets a conditional class out to another department only under a live grant, in the items it names', () => {
    fc.assert(
      fc.property(
        fc.array(grantArbitrary, { maxLength: 8 }),
        fc.integer({ min: -100, max: 100 }),
        (grants, hour) => {
          const now = T0 + hour * HOUR;
          const p = project(catalogue, grants, 'emergency', 'input.events', now);
          const live = grants.filter(
            (g) => g.department === 'emergency' && g.resource === 'input.events' && isLive(g, now),
          );
          if (live.length === 0) expect(p).toEqual({ items: [], reason: 'no live grant' });
          for (const item of p.items)
            expect(live.some((g) => g.items.some((pattern) => matchesPattern(pattern, item.id)))).toBe(true);
        },
      ),
    );
  });

  it('ends a grant at valid_until and at its revocation, to the millisecond', () => {
    const until = T0 + 24 * HOUR;
    expect(project(catalogue, [grant()], 'emergency', 'input.events', until - 1).reason).toBe('granted');
    expect(project(catalogue, [grant()], 'emergency', 'input.events', until).reason).toBe('no live grant');
    expect(project(catalogue, [grant()], 'emergency', 'input.events', T0 - 1).reason).toBe('no live grant');
    const revoked = grant({ revoked_at: new Date(T0 + HOUR).toISOString() });
    expect(project(catalogue, [revoked], 'emergency', 'input.events', T0 + HOUR - 1).reason).toBe('granted');
    expect(project(catalogue, [revoked], 'emergency', 'input.events', T0 + HOUR).reason).toBe(
      'no live grant',
    );
    // A grant of another department, or of another class, gives nothing.
    expect(
      project(catalogue, [grant({ department: 'health' })], 'emergency', 'input.events', T0).items,
    ).toEqual([]);
    expect(
      project(catalogue, [grant({ resource: 'input.transport' })], 'emergency', 'input.events', T0).items,
    ).toEqual([]);
  });

  it('gives a provider its own conditional class, and everyone an unconditional one, less the negative list', () => {
    const own = project(catalogue, [], 'urban-management', 'input.events', T0);
    expect(own.reason).toBe('provider');
    expect(own.items.map((i) => i.id)).not.toContain('reporter.name');
    expect(project(catalogue, [], 'health', 'input.population', T0).reason).toBe('unconditional');
  });
});

describe('projectRecord', () => {
  it('writes only the projected items, each masked by its rule, nested fields included', () => {
    const record = {
      id: 'e-1',
      incident_id: 'inc-1',
      ts: 1,
      category: 'traffic',
      severity: 3,
      lat: 22.5,
      lon: 114.1,
      status: 'open',
      description: 'call 13812345678 about the crash',
      reporter: { name: '张三丰', phone: '13812345678', id_number: '440304199001011234' },
    };
    const granted = project(catalogue, [grant()], 'emergency', 'input.events', T0);
    const out = projectRecord(record, granted);
    expect(out).toEqual({
      id: 'e-1',
      incident_id: 'inc-1',
      ts: 1,
      category: 'traffic',
      severity: 3,
      lat: 22.5,
      lon: 114.1,
      status: 'open',
      description: 'call 138******78 about the crash',
    });
    const partial = projectRecord(record, {
      items: [
        { id: 'reporter.name', masking: 'mask_name' },
        { id: 'severity', masking: 'mask_phone' },
      ],
      reason: 'granted',
    });
    expect(partial).toEqual({ reporter: { name: '张**' }, severity: null });
  });
});
