import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CityOpsError } from '../errors.ts';

/** Where a deployment keeps the ledger's key by default: beside the local stack's credentials. */
export function defaultLedgerKeyPath(stackDir: string): string {
  return join(stackDir, 'ledger.key');
}

/** Where a writer's unwritten rows wait between a stop and the next start (per database and writer). */
export function ledgerSpoolPath(stackDir: string, database: string, writer: string): string {
  return join(stackDir, 'ledger-spool', `${database}.${writer}.jsonl`);
}

/** The ledger's HMAC key (32 random bytes, hex), made on first use; mode 0600. */
export function ledgerKey(path: string): Buffer {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  }
  return readLedgerKey(path);
}

/** Reads the key without making one: verification needs the key the rows were written with. */
export function readLedgerKey(path: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (cause) {
    throw new CityOpsError('CONFIG_INVALID', `cannot read the ledger key ${path}`, {
      cause,
      hint: 'the ledger is verified with the key it was written with; pass --key-file',
    });
  }
  if (!/^[0-9a-f]{64}$/.test(text))
    throw new CityOpsError('CONFIG_INVALID', `the ledger key ${path} is not 64 hex digits`, {
      hint: 'restore the key file the ledger was written with',
    });
  return Buffer.from(text, 'hex');
}
