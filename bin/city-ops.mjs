#!/usr/bin/env node
// city-ops runs from its TypeScript sources through tsx (esbuild, cached per file), so there is no build
// step to forget and no stale output to debug. Worker threads register the same loader in their entry.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../engine/cli/main.ts');
const code = await main(process.argv.slice(2));
// A command has finished and closed what it opened; leftover handles of client libraries (a lingering
// socket, a librdkafka thread) must not keep the process alive after it.
setTimeout(() => process.exit(code), 200).unref();
process.exitCode = code;
