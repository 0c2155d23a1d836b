import { parseArgs } from 'node:util';
import { z } from 'zod';
import { startMapAccess } from '../../access/startMapAccess.ts';
import { loadEnvironment } from '../../config/environment.ts';
import { CityOpsError } from '../../errors.ts';
import { createLogger } from '../../observability/logger.ts';
import { generateToken, isLoopback, MIN_TOKEN_LENGTH, startMapServer } from '../../server/mapServer.ts';
import { SyntheticCity } from '../../server/syntheticCity.ts';
import type { Command } from '../main.ts';

const Flags = z.object({
  port: z.coerce.number().int().min(0).max(65_535),
  host: z.string().min(1),
  token: z.string().min(MIN_TOKEN_LENGTH, `must have at least ${MIN_TOKEN_LENGTH} characters`).optional(),
  origins: z.string().optional(),
  demo: z.boolean(),
  vehicles: z.coerce.number().int().min(0).max(200_000),
  cells: z.coerce.number().int().min(0).max(50_000),
  catalogue: z.string().min(1).optional(),
  departments: z.string().min(1).optional(),
});

export const command: Command = {
  summary:
    'The live map server: reads city.aggregates and city.alerts from Kafka, pushes them to the map page.',
  usage: [
    'city-ops serve [--port 8080] [--host 127.0.0.1] [--token T] [--origins URL,URL] [--demo]',
    '',
    '  --port      port to listen on (default 8080; 0 picks a free one)',
    '  --host      address to listen on (default 127.0.0.1)',
    '  --token     access token of the WebSocket and the history API (default: CITY_OPS_MAP_TOKEN,',
    '              else a random one, printed)',
    '  --origins   comma-separated browser origins allowed to connect (default: this server only)',
    '  --demo      no Kafka: drive the map with a synthetic city in this process',
    '  --vehicles  with --demo: vehicles (default 5000)',
    '  --cells     with --demo: H3 cells (default 2000)',
    '  --catalogue the catalogue that judges what departments receive (default config/catalogue.yaml)',
    "  --departments  the departments' token digests (default .stack/department-tokens.json;",
    '              `city-ops access token <department>` issues one); grants are read from city.grants',
    '',
    'Environment: KAFKA_BROKERS, CITY_OPS_TOPIC_PREFIX, CLICKHOUSE_* (history, read as the analyst).',
    'Endpoints: / (the page), /ws, /api/districts, /api/history, /basemap/style.json, /health, /metrics.',
  ].join('\n'),
  async run(argv) {
    let values: Record<string, unknown>;
    try {
      values = parseArgs({
        args: [...argv],
        options: {
          port: { type: 'string', default: '8080' },
          host: { type: 'string', default: '127.0.0.1' },
          token: { type: 'string' },
          origins: { type: 'string' },
          demo: { type: 'boolean', default: false },
          vehicles: { type: 'string', default: '5000' },
          cells: { type: 'string', default: '2000' },
          catalogue: { type: 'string' },
          departments: { type: 'string' },
        },
        strict: true,
      }).values;
    } catch (cause) {
      throw new CityOpsError('CLI_USAGE', (cause as Error).message, { hint: 'see `city-ops serve --help`' });
    }
    const parsed = Flags.safeParse({
      ...values,
      token: values['token'] ?? process.env['CITY_OPS_MAP_TOKEN'],
    });
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new CityOpsError('CLI_USAGE', `--${issue.path.join('.')}: ${issue.message}`, {
        hint: 'see `city-ops serve --help`',
      });
    }
    const flags = parsed.data;
    const generated = flags.token === undefined;
    const token = flags.token ?? generateToken();
    const env = loadEnvironment();
    const mapAccess = await startMapAccess(env, createLogger('map-access'), {
      ...(flags.catalogue ? { catalogue: flags.catalogue } : {}),
      ...(flags.departments ? { tokens: flags.departments } : {}),
    });
    const server = await startMapServer({
      env,
      token,
      access: mapAccess.access,
      ledger: mapAccess.ledger,
      host: flags.host,
      port: flags.port,
      kafka: !flags.demo,
      ...(flags.origins ? { allowedOrigins: flags.origins.split(',').map((o) => o.trim()) } : {}),
    });
    const out = (line: string) => process.stdout.write(`${line}\n`);
    out(`map server listening on ${server.url}`);
    if (!isLoopback(server.host))
      out(
        `warning: ${server.host} is reachable from other machines and the server has no TLS: the token and the live data cross the network in clear (put it behind a TLS proxy)`,
      );
    out(`open ${server.url}/#token=${encodeURIComponent(token)}`);
    if (generated) out('(token generated for this run; set CITY_OPS_MAP_TOKEN to keep one)');

    let demoTimer: NodeJS.Timeout | undefined;
    if (flags.demo) {
      out(`demo mode: a synthetic city of ${flags.vehicles} vehicles and ${flags.cells} cells, no Kafka`);
      const city = new SyntheticCity({ vehicles: flags.vehicles, cells: flags.cells });
      demoTimer = setInterval(() => {
        const now = Date.now();
        for (const message of city.tick(now)) server.apply(message, now);
      }, 1000);
    }
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    clearInterval(demoTimer);
    out('stopping the map server');
    await server.close();
    await mapAccess.stop();
    return 0;
  },
};
