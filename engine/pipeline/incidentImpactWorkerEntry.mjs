// Entry of the finalizer's join thread. Worker threads do not inherit the main thread's module hooks on
// Node 20, so the TypeScript loader is registered here before the worker module is imported.
import { register } from 'tsx/esm/api';

register();
const { runImpactJoin, recheckBaseImpacts } = await import('./incidentImpactWorker.ts');

export default runImpactJoin;
export { recheckBaseImpacts };
