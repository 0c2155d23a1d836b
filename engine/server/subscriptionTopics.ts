import { type DistrictInfo, districtsInBox } from './districtBoundaries.ts';
import { type ClientMessage, DISTRICT_LAYERS, topicName } from './protocol.ts';

/**
 * The topics a subscribe message asks for: its layers in the districts of its area (its districts, those
 * its box touches, or all), and the cells at the H3 resolution its zoom suits among those served.
 */
export function subscriptionTopics(
  message: Extract<ClientMessage, { type: 'subscribe' }>,
  served: readonly DistrictInfo[],
  codes: ReadonlySet<string>,
  resolutions: readonly number[],
): { topics: string[]; resolution: number | null } {
  let districts: string[];
  if (message.area?.districts) districts = message.area.districts.filter((d) => codes.has(d));
  else if (message.area?.bbox) districts = districtsInBox(served, message.area.bbox);
  else districts = served.map((d) => d.code);
  let resolution: number | null = null;
  if (message.layers.includes('cells')) resolution = chooseResolution(resolutions, message);
  const topics: string[] = [];
  for (const layer of message.layers) {
    if (!DISTRICT_LAYERS.has(layer)) {
      topics.push(topicName(layer));
      continue;
    }
    for (const district of districts) {
      topics.push(topicName(layer, district, resolution ?? undefined));
    }
  }
  return { topics: [...new Set(topics)], resolution };
}

/** Zoom -> H3 resolution: about one hexagon per 40 px. An explicit resolution wins; the nearest served one is used. */
function chooseResolution(
  served: readonly number[],
  message: { resolution?: number | undefined; zoom?: number | undefined },
): number | null {
  if (served.length === 0) return message.resolution ?? null;
  const wanted =
    message.resolution ??
    (message.zoom === undefined ? served[served.length - 1]! : zoomToResolution(message.zoom));
  let best = served[0]!;
  for (const r of served) if (Math.abs(r - wanted) < Math.abs(best - wanted)) best = r;
  return best;
}

function zoomToResolution(zoom: number): number {
  if (zoom < 9.5) return 6;
  if (zoom < 10.5) return 7;
  if (zoom < 12) return 8;
  return 9;
}
