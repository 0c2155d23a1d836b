import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chainNext,
  chainProblems,
  GENESIS,
  type LedgerEntry,
  type LedgerRow,
} from '../../../engine/access/ledgerChain.ts';

const KEY = Buffer.alloc(32, 7);

const entry = (records: number): LedgerEntry => ({
  consumer: 'emergency',
  provider: 'transport',
  resource: 'map.vehicles',
  exit: 'websocket',
  items: ['vehicle', 'lat', 'lon'],
  records,
  bytes: records * 100,
  event_ms: 0,
  ingest_ms: 0,
  delivered_from_ms: 1_700_000_000_000,
  delivered_to_ms: 1_700_000_010_000,
  succeeded: true,
  fault_code: '',
});

function chain(counts: readonly number[]): LedgerRow[] {
  const rows: LedgerRow[] = [];
  let head = { seq: 0, hash: GENESIS };
  for (const n of counts) {
    const row = chainNext('map-server', head, entry(n), KEY);
    rows.push(row);
    head = row;
  }
  return rows;
}

describe('the ledger chain', () => {
  it('verifies as written, and finds any one altered, removed or swapped row', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 1000 }), { minLength: 2, maxLength: 30 }),
        fc.nat(),
        (counts, pick) => {
          const rows = chain(counts);
          expect(chainProblems(rows, KEY)).toEqual([]);
          const i = pick % rows.length;
          const altered = rows.map((r, j) => (j === i ? { ...r, records: r.records + 1 } : r));
          expect(chainProblems(altered, KEY)).toContain(
            `map-server/emergency seq ${i + 1}: the row does not match its hash (altered)`,
          );
          // Any row but the last: a chain alone cannot tell that its tail was cut (docs/access.md).
          const removed = rows.filter((_, j) => j !== i % (rows.length - 1));
          expect(chainProblems(removed, KEY).length).toBeGreaterThan(0);
          const swapped = [...rows];
          const k = (i + 1) % rows.length;
          [swapped[i], swapped[k]] = [swapped[k]!, swapped[i]!];
          expect(chainProblems(swapped, KEY).length).toBeGreaterThan(0);
        },
      ),
    );
  });

  it('finds a row rewritten with a fresh hash by the link of the row after it', () => {
    const rows = chain([1, 2, 3]);
    const forged = chainNext('map-server', rows[0]!, entry(20), KEY);
    expect(chainProblems([rows[0]!, forged, rows[2]!], KEY)).toEqual([
      'map-server/emergency seq 3: prev_hash is not the hash of seq 2',
    ]);
  });

  it('does not verify with another key: a writer without the key cannot forge a chain', () => {
    const rows = chain([1, 2]);
    expect(chainProblems(rows, Buffer.alloc(32, 8))).toHaveLength(2);
  });
});
