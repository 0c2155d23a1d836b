import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { lookupJoin } from '../../../../operators/library/joins/lookupJoin.ts';
import { rec } from '../testRecords.ts';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
type Incident = { company: string; id: string };
const incident = (ts: number, id: string) => rec<Incident>(ts, { company: 'C1', id });

describe('lookupJoin', () => {
  it('enriches each record with the version valid at its event time; updates take effect for records after them', () => {
    scheduler().run(({ cold, hot, expectObservable }) => {
      const updates = hot('u---v------', {
        u: { key: 'C1', value: 'Futian Holdings', validFrom: 0 },
        v: { key: 'C1', value: 'Nanshan Realty', validFrom: 500 },
      });
      const records = cold('a-b---c-d-|', {
        a: incident(100, 'a'),
        b: incident(600, 'b'), // before the update arrives: old name
        c: incident(700, 'c'), // after it, event time past validFrom: new name
        d: incident(400, 'd'), // after it, but its event time is before validFrom: old name
      });
      const output = records.pipe(
        lookupJoin(updates, {
          key: (r) => r.value.company,
          join: (r, name) => `${r.value.id}:${name ?? '-'}`,
        }),
      );
      expectObservable(output).toBe('a-b---c-d-|', {
        a: 'a:Futian Holdings',
        b: 'b:Futian Holdings',
        c: 'c:Nanshan Realty',
        d: 'd:Futian Holdings',
      });
    });
  });

  it("with at: 'latest', sees the newest version whatever the record's time; a missing key joins undefined", () => {
    scheduler().run(({ cold, hot, expectObservable }) => {
      const updates = hot('u-v----', {
        u: { key: 'C1', value: 'old', validFrom: 0 },
        v: { key: 'C1', value: 'new', validFrom: 10_000 },
      });
      const records = cold('a--bc|', {
        a: incident(1, 'a'),
        b: incident(2, 'b'),
        c: rec(3, { company: 'C9', id: 'c' }),
      });
      const output = records.pipe(
        lookupJoin(updates, {
          key: (r) => r.value.company,
          join: (r, v) => `${r.value.id}:${v ?? '-'}`,
          at: 'latest',
        }),
      );
      expectObservable(output).toBe('a--bc|', { a: 'a:old', b: 'b:new', c: 'c:-' });
    });
  });

  it('applies a synchronous snapshot before the first record, sends join errors to error, and unsubscribes both', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const updates = cold('(s)', { s: { key: 'C1', value: 'snap', validFrom: 0 } });
      const records = cold('ab|', { a: incident(5, 'a'), b: incident(6, 'boom') });
      const output = records.pipe(
        lookupJoin(updates, {
          key: (r) => r.value.company,
          join: (r, v) => {
            if (r.value.id === 'boom') throw new Error('boom');
            return `${r.value.id}:${v}`;
          },
        }),
      );
      expectObservable(output).toBe('a#', { a: 'a:snap' }, new Error('boom'));
      expectSubscriptions(records.subscriptions).toBe('^!');
    });
  });

  it('validates options', () => {
    expect(() =>
      lookupJoin(undefined as never, { key: (r) => r, join: () => 1, at: 'now' as 'latest' }),
    ).toThrow("options.at must be one of 'eventTime', 'latest', got \"now\"");
  });
});
