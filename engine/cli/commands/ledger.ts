import { parseArgs } from 'node:util';
import { defaultLedgerKeyPath, readLedgerKey } from '../../access/ledgerKey.ts';
import { verifyLedger } from '../../access/ledgerVerify.ts';
import { loadEnvironment } from '../../config/environment.ts';
import { createClickHouse } from '../../connectors/clickhouse/client.ts';
import { CityOpsError } from '../../errors.ts';
import type { Command } from '../main.ts';

const USAGE = `city-ops ledger verify [--consumer <department>] [--key-file <path>]

The exchange ledger (city.exchange_ledger, docs/access.md): one row per delivery to a department, each
writer's rows for a consumer chained by HMAC-SHA-256 with the ledger's key (.stack/ledger.key).

  verify            check every chain (or one consumer's): seq without gaps, each prev_hash the hash of
                    the row before, each hash the row's own; exit 0 when all verify, 1 with each problem`;

function parseLedgerArgs(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      options: { consumer: { type: 'string' }, 'key-file': { type: 'string' } },
      allowPositionals: true,
    });
  } catch (cause) {
    throw new CityOpsError('CLI_USAGE', (cause as Error).message, { hint: USAGE });
  }
}

export const command: Command = {
  summary: "Verify the exchange ledger's hash chains.",
  usage: USAGE,
  async run(argv) {
    const parsed = parseLedgerArgs(argv);
    if (parsed.positionals[0] !== 'verify' || parsed.positionals.length !== 1)
      throw new CityOpsError('CLI_USAGE', `unknown ledger action '${parsed.positionals.join(' ')}'`, {
        hint: USAGE,
      });
    const env = loadEnvironment();
    const client = createClickHouse(env, 'analyst', { requestTimeoutMs: 120_000 });
    try {
      const keyFile = parsed.values['key-file'] ?? defaultLedgerKeyPath(env.CITY_OPS_STACK_DIR);
      const key = readLedgerKey(keyFile);
      const result = await verifyLedger(client, env.CLICKHOUSE_DATABASE, key, parsed.values.consumer);
      for (const problem of result.problems) process.stdout.write(`${problem}\n`);
      process.stdout.write(
        `ledger: ${result.chains} chain(s), ${result.rows} row(s): ${result.problems.length === 0 ? 'verified' : `${result.problems.length} problem(s)`}\n`,
      );
      return result.problems.length === 0 ? 0 : 1;
    } finally {
      await client.close();
    }
  },
};
