#!/usr/bin/env node
// city-ops runs from its TypeScript sources through tsx (esbuild, cached per file), so there is no build
// step to forget and no stale output to debug. Worker threads register the same loader in their entry.
import { register } from 'tsx/esm/api';

register();
const { main, KAFKA_PRINCIPAL_OF } = await import('../engine/cli/main.ts');
// Each command is its own Kafka user (whatever the parent process was: the quick start's children too).
const principal = KAFKA_PRINCIPAL_OF[process.argv[2] ?? ''];
if (principal) process.env.CITY_OPS_KAFKA_PRINCIPAL = principal;
const code = await main(process.argv.slice(2));
// A command has finished and closed what it opened; leftover handles of client libraries (a lingering
// socket, a librdkafka thread) must not keep the process alive after it.
setTimeout(() => process.exit(code), 200).unref();
process.exitCode = code;
