import { cellToLatLng } from 'h3-js';
import { EMPTY_WINDOW_MEASURES } from '../../../engine/contract/aggregates.ts';
import {
  DEAD_LETTER_REASONS,
  type DeadLetterReason,
  decodeRecord,
} from '../../../engine/contract/decodeRecord.ts';
import { STREAM_NAMES, type StreamName } from '../../../engine/contract/topics.ts';
import { shenzhenDistricts } from '../../../engine/geo/shenzhenDistricts.ts';
import type { TruthWindow } from '../../../engine/simulator/SimulationTruth.ts';

/** One message as it travelled: its stream and its bytes (nothing the simulator said about it). */
export interface PublishedMessage {
  readonly stream: StreamName;
  readonly value: string | Uint8Array | null;
}

export interface Recount {
  accepted: number;
  duplicates: number;
  deadLetters: Record<StreamName, Record<DeadLetterReason, number>>;
  windows: TruthWindow[];
}

/**
 * An independent oracle of the truth: decodes every message with the engine's contract, drops repeated ids,
 * locates positions with the district index and aggregates per stream, district and UTC minute, the way the
 * engine is specified to. It reads only the published bytes, never the simulator's own annotations.
 */
export function recountTruth(messages: Iterable<PublishedMessage>): Recount {
  const { index } = shenzhenDistricts();
  const seen = new Set<string>();
  const deadLetters = Object.fromEntries(
    STREAM_NAMES.map((s) => [s, Object.fromEntries(DEAD_LETTER_REASONS.map((r) => [r, 0]))]),
  ) as Recount['deadLetters'];
  const windows = new Map<
    string,
    { row: TruthWindow; keys: Set<string>; latest: Map<string, { ts: number; present: number }> }
  >();
  let accepted = 0;
  let duplicates = 0;
  for (const message of messages) {
    const decoded = decodeRecord(message.stream, message.value, undefined);
    if (!decoded.ok) {
      deadLetters[message.stream][decoded.reason]++;
      continue;
    }
    const record = decoded.record as Record<string, unknown>;
    const id = `${message.stream}:${record['id']}`;
    if (seen.has(id)) {
      duplicates++;
      continue;
    }
    seen.add(id);
    accepted++;
    let lat = record['lat'] as number | undefined;
    let lon = record['lon'] as number | undefined;
    if (lat === undefined || lon === undefined) [lat, lon] = cellToLatLng(record['h3'] as string);
    const district = index.lookup(lon!, lat!) ?? 'outside';
    const minute = Math.floor(decoded.ts / 60_000) * 60_000;
    const key = `${minute}|${message.stream}|${district}`;
    let window = windows.get(key);
    if (window === undefined) {
      window = {
        row: {
          stream: message.stream,
          district,
          window_start: minute,
          ...EMPTY_WINDOW_MEASURES,
        },
        keys: new Set(),
        latest: new Map(),
      };
      windows.set(key, window);
    }
    const row = window.row;
    row.events++;
    if (message.stream === 'transport') {
      window.keys.add(record['vehicle'] as string);
      if (typeof record['speed_kmh'] === 'number') {
        row.speed_sum += record['speed_kmh'];
        row.speed_count++;
      }
    } else if (message.stream === 'events') {
      window.keys.add((record['incident_id'] ?? record['id']) as string);
      if (record['status'] === 'open') row.opened++;
      else row.closed++;
      if ((record['severity'] as number) >= 4) row.severe++;
    } else {
      const cell = (record['h3'] ?? record['id']) as string;
      window.keys.add(cell);
      row.inflow += record['inflow'] as number;
      row.outflow += record['outflow'] as number;
      const latest = window.latest.get(cell);
      if (latest === undefined || decoded.ts >= latest.ts) {
        window.latest.set(cell, { ts: decoded.ts, present: record['present'] as number });
      }
    }
  }
  const rows = [...windows.values()].map(({ row, keys, latest }) => {
    row.distinct_keys = keys.size;
    row.present = [...latest.values()].reduce((sum, l) => sum + l.present, 0);
    return row;
  });
  return { accepted, duplicates, deadLetters, windows: rows };
}

/** Windows keyed by minute, stream and district, speed sums rounded to 0.1 km/h (float sums differ by order). */
export function byWindow(windows: readonly TruthWindow[]): Map<string, TruthWindow> {
  return new Map(
    windows.map((w) => [
      `${w.window_start}|${w.stream}|${w.district}`,
      { ...w, speed_sum: Math.round(w.speed_sum * 10) / 10 },
    ]),
  );
}
