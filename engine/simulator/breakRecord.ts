import type { RecordFault } from '../contract/decodeRecord.ts';
import { MAX_RECORD_BYTES } from '../contract/exchangeRecords.ts';
import type { StreamName } from '../contract/topics.ts';
import type { SeededRandom } from './SeededRandom.ts';

/** The field each stream's broken records lose. */
const MISSING: Readonly<Record<StreamName, string>> = {
  transport: 'vehicle',
  events: 'severity',
  population: 'present',
};
/** The numeric field each stream's broken records send quoted, as a string. */
const QUOTED: Readonly<Record<StreamName, string>> = {
  transport: 'lat',
  events: 'severity',
  population: 'present',
};

const DAY_MS = 86_400_000;
const ATTACHMENT_CHUNK = 'iVBORw0KGgoAAAANSUhEUgAAAoAAAAHgCAYAAAA10dzkAAAgAElEQVR4nO3d';

/**
 * Turns a valid record into the message value a faulty department would send, such that
 * `decodeRecord(stream, value)` dead-letters it with exactly `reason`. The faults are the ones seen in
 * practice: a cut connection (invalid_json), a batch sent as one array (not_an_object), a camera still
 * attached (oversized), a device clock reset to 1970 (impossible_timestamp), swapped coordinates or a
 * GPS without a fix at (0, 0) (impossible_coordinates), a field dropped, quoted or out of range, a device
 * clock a year ahead (clock_skew) or a backlog of more than a year flushed at last (too_old). The last two
 * assume the record's own time is within the last 90 days, as every simulation the engine accepts is.
 *
 * @param record the valid record as an object (not mutated)
 * @returns the message value; '' for `empty` (published as a null value)
 */
export function breakRecord(
  stream: StreamName,
  record: Readonly<Record<string, unknown>>,
  reason: RecordFault,
  random: SeededRandom,
): string {
  const copy: Record<string, unknown> = { ...record };
  switch (reason) {
    case 'empty':
      return '';
    case 'oversized': {
      const length = MAX_RECORD_BYTES + 64 + random.int(4_096);
      copy['attachment'] = ATTACHMENT_CHUNK.repeat(Math.ceil(length / ATTACHMENT_CHUNK.length)).slice(
        0,
        length,
      );
      return JSON.stringify(copy);
    }
    case 'invalid_json': {
      const text = JSON.stringify(copy);
      // Any proper prefix of a serialised object leaves it unclosed: never valid JSON.
      return text.slice(0, 1 + random.int(text.length - 1));
    }
    case 'not_an_object':
      return random.chance(0.5) ? `[${JSON.stringify(copy)}]` : JSON.stringify(JSON.stringify(copy));
    case 'missing_field':
      delete copy[MISSING[stream]];
      return JSON.stringify(copy);
    case 'wrong_type':
      copy[QUOTED[stream]] = String(copy[QUOTED[stream]]);
      return JSON.stringify(copy);
    case 'invalid_value':
      if (stream === 'transport') copy['mode'] = random.pick(['hovercraft', 'Bus', 'train']);
      else if (stream === 'events') copy['severity'] = random.pick([0, 6, 9]);
      else copy['present'] = -1 - random.int(500);
      return JSON.stringify(copy);
    case 'impossible_timestamp': {
      const ts = copy['ts'] as number;
      // A device whose clock reset to the epoch, or a year typed with an extra digit.
      copy['ts'] = random.chance(0.5) ? ts % 86_400_000 : ts + 3_200_000_000_000;
      return JSON.stringify(copy);
    }
    case 'clock_skew':
      copy['ts'] = (copy['ts'] as number) + 400 * DAY_MS;
      return JSON.stringify(copy);
    case 'too_old':
      copy['ts'] = (copy['ts'] as number) - 400 * DAY_MS;
      return JSON.stringify(copy);
    case 'impossible_coordinates':
      if (random.chance(0.5)) {
        copy['lat'] = 0;
        copy['lon'] = 0;
      } else {
        copy['lat'] = record['lon'];
        copy['lon'] = record['lat'];
      }
      return JSON.stringify(copy);
  }
}
