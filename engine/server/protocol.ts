import { z } from 'zod';

/**
 * The live-map WebSocket protocol (version 1), shared by the map server (`engine/server/`) and the page
 * (`viz/`). docs/protocol.md is the prose version of this file.
 *
 * A client subscribes to **layers** within an **area**; the server resolves that to a set of **topics**
 * (a layer, partitioned by district for the heavy layers). Each topic has its own sequence number: the
 * server sends a `snapshot` (full state at seq S) and then one `delta` per tick in which the topic changed
 * (seq S+1, S+2, ...). A client that reconnects sends the seqs it has, with the server `epoch`, and gets
 * either the missed deltas (compacted into one `catchup`) or a fresh snapshot.
 */
export const PROTOCOL_VERSION = 1;

/** Map layers a client can subscribe to. */
export const LAYERS = ['vehicles', 'cells', 'incidents', 'districts', 'pulse', 'alerts', 'status'] as const;
export type Layer = (typeof LAYERS)[number];

/** Layers partitioned into one topic per district (the others are one topic each, city-wide). */
export const DISTRICT_LAYERS: ReadonlySet<Layer> = new Set(['vehicles', 'cells', 'incidents']);

/** The name of a topic: `vehicles/440304`, `cells/8/440304`, `incidents/440304`, `districts`, ... */
export function topicName(layer: Layer, district?: string, resolution?: number): string {
  if (layer === 'cells') return `cells/${resolution}/${district}`;
  if (DISTRICT_LAYERS.has(layer)) return `${layer}/${district}`;
  return layer;
}

/** The layer a topic belongs to (its first path segment). */
export function layerOfTopic(topic: string): Layer {
  const slash = topic.indexOf('/');
  return (slash < 0 ? topic : topic.slice(0, slash)) as Layer;
}

/** A resume names at most this many topics (the map has about 40: 3 district layers x 11 districts, and 4 more). */
export const MAX_RESUME_TOPICS = 256;

const DistrictCode = z.string().regex(/^[0-9a-z_]{1,32}$/, 'must be a district code such as 440304');

/** What a client may send. Anything else is answered with an `error` message and ignored. */
export const ClientMessage = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('subscribe'),
    /** Layers wanted; a new subscribe replaces the previous one. */
    layers: z.array(z.enum(LAYERS)).min(1).max(LAYERS.length),
    /** District list or bounding box [west, south, east, north] in WGS84 degrees; all districts if omitted. */
    area: z
      .object({
        districts: z.array(DistrictCode).max(64).optional(),
        bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]).optional(),
      })
      .optional(),
    /** H3 resolution of the `cells` layer; or give the map `zoom` and let the server choose. */
    resolution: z.number().int().min(0).max(15).optional(),
    zoom: z.number().min(0).max(24).optional(),
    /** Resume: the server epoch the seqs come from, and the last seq applied per topic. */
    resume: z
      .object({
        epoch: z.string().max(64),
        seqs: z
          .record(z.string().max(64), z.number().int().min(0))
          .refine((seqs) => Object.keys(seqs).length <= MAX_RESUME_TOPICS, {
            message: `at most ${MAX_RESUME_TOPICS} topics`,
          }),
      })
      .optional(),
  }),
  z.object({ type: z.literal('ping'), t: z.number().optional() }),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

/** A key and its value; values of each layer are documented in docs/protocol.md. */
export type Entry = [key: string, value: unknown];

/** First message after the connection opens. */
export interface HelloMessage {
  type: 'hello';
  protocol: typeof PROTOCOL_VERSION;
  /** Identifies this server run; seqs of another epoch cannot be resumed. */
  epoch: string;
  tickMs: number;
  layers: readonly Layer[];
  districts: readonly string[];
  /** H3 resolutions the `cells` layer is served at (finest last). */
  resolutions: readonly number[];
  serverTime: number;
}

/** The topics a subscribe resolved to (sent before their snapshots or catch-ups). */
export interface SubscribedMessage {
  type: 'subscribed';
  topics: string[];
  resolution: number | null;
}

/** Full state of a topic at `seq`: replaces whatever the client had for it. */
export interface SnapshotMessage {
  type: 'snapshot';
  topic: string;
  seq: number;
  /** Server time when it was built, epoch ms. */
  t: number;
  entities: Entry[];
}

/** Changes of one tick: apply to the state at `seq - 1` to get the state at `seq`. */
export interface DeltaMessage {
  type: 'delta';
  topic: string;
  seq: number;
  /** Server emit time, epoch ms. */
  t: number;
  /** Kafka timestamp (engine publication time) of the oldest aggregate in this delta, epoch ms. */
  src: number;
  up: Entry[];
  rm: string[];
}

/** Several deltas compacted (latest value wins): apply to the state at `from` to get the state at `seq`. */
export interface CatchupMessage {
  type: 'catchup';
  topic: string;
  from: number;
  seq: number;
  t: number;
  up: Entry[];
  rm: string[];
}

export interface ErrorMessage {
  type: 'error';
  code: 'BAD_MESSAGE' | 'FORBIDDEN' | 'SLOW_CONSUMER' | 'RATE_LIMITED';
  message: string;
}

export interface PongMessage {
  type: 'pong';
  t?: number;
  serverTime: number;
}

export type ServerMessage =
  | HelloMessage
  | SubscribedMessage
  | SnapshotMessage
  | DeltaMessage
  | CatchupMessage
  | ErrorMessage
  | PongMessage;

/** The prefix of the Sec-WebSocket-Protocol entry that carries the access token: `city-ops.token.<token>`. */
export const TOKEN_SUBPROTOCOL_PREFIX = 'city-ops.token.';
/** The subprotocol the server selects when the token came that way. */
export const SUBPROTOCOL = 'city-ops.v1';

/** Close codes the server uses. */
export const CLOSE_CODES = {
  /** Server shutting down: reconnect later. */
  goingAway: 1001,
} as const;
