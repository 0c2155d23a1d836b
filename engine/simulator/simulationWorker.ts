import { parentPort, workerData } from 'node:worker_threads';
import { BatchEncoder } from './encodeBatch.ts';
import { simulateCity } from './simulateCity.ts';
import { BatchLedger, type FromWorker, type ToWorker, type WorkerStart } from './simulationBatches.ts';

// The generator thread of `publishSimulation`: generates and encodes batches, at most `ahead` batches in
// front of the producer (each acknowledgement lets it make one more), and counts the acknowledged ones.
const port = parentPort!;
const start = workerData as WorkerStart;
const encoder = new BatchEncoder(simulateCity(start.options), start.limits);
const ledger = new BatchLedger(start.options, start.truth);
let credit = start.ahead;
let ended = false;
let stopped = false;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  port.postMessage(message, transfer as never);
}

function pump(): void {
  while (credit > 0 && !ended && !stopped) {
    const next = encoder.next();
    if (next === null) {
      ended = true;
      post({ type: 'end' });
      return;
    }
    ledger.hold(next.batch.id, next.messages);
    credit--;
    const { batch } = next;
    post({ type: 'batch', batch }, [batch.bytes, batch.index.buffer, batch.ts.buffer]);
  }
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'ack') {
    ledger.ack(message.id, message.count);
    credit++;
    // Generate the next batch after this message is handled, so that acknowledgements are never starved.
    setImmediate(pump);
  } else {
    stopped = true;
    post({ type: 'result', result: ledger.result() });
  }
});

pump();
