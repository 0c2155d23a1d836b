// Entry of the piscina worker threads. Worker threads do not inherit the main thread's module hooks on
// Node 20, so the TypeScript loader is registered here before the worker module is imported.
import { register } from 'tsx/esm/api';

register();
const { processBatch } = await import('./batchWorker.ts');

export default processBatch;
