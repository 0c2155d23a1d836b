// Entry of the engine's partition worker threads. Worker threads do not inherit the main thread's module
// hooks on Node 20, so the TypeScript loader is registered here before the worker module is imported.
import { register } from 'tsx/esm/api';

register();
const { runPartitionTask } = await import('./partitionWorker.ts');

export default runPartitionTask;
