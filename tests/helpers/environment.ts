import { randomBytes } from 'node:crypto';
import { loadEnvironment } from '../../engine/config/environment.ts';

/** The environment of the real stack that `npm test` started (`city-ops stack up`). */
export const testEnv = loadEnvironment();

/** A short random suffix so that each test's topics, groups and tables are its own. */
export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

/** See `recentLike` in engine/simulator/simulationOptions.ts. */
export { recentLike } from '../../engine/simulator/simulationOptions.ts';
