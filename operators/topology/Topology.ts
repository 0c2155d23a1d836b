import { CityOpsError } from '../../engine/errors.ts';

/** What a node does: read a stream, transform it, or write it out. */
export type NodeKind = 'source' | 'operator' | 'sink';

/** A node of a `Topology`, as plain data. */
export interface TopologyNode {
  readonly name: string;
  readonly kind: NodeKind;
  /** Names of the nodes it reads from, in the order given. */
  readonly parents: readonly string[];
  /** One line shown by `describe()`, e.g. a topic or `TumblingWindows(size=60000ms, grace=5000ms)`. */
  readonly detail?: string;
}

/** Options of a node: a detail line for `describe()`. */
export interface NodeOptions {
  readonly detail?: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const LABEL: Readonly<Record<NodeKind, string>> = { source: 'Source', operator: 'Operator', sink: 'Sink' };

/**
 * The processing graph as data (Kafka Streams' `Topology`): named nodes (sources, operators, sinks) and the
 * edges between them. Users name the nodes; names are validated (letters, digits, `.`, `_`, `-`; unique), and
 * a node can only read from nodes added before it, so the graph is always acyclic.
 *
 * `describe()` prints it as stable text: connected parts as numbered sub-topologies in order of their first
 * node, nodes in insertion order, each with `-->` children and `<--` parents, so tests can snapshot it.
 *
 * @example
 * const topology = new Topology()
 *   .addSource('gps', { detail: 'topic: transport.gps' })
 *   .addOperator('district', ['gps'], { detail: 'lookup DistrictIndex' })
 *   .addOperator('per-minute', ['district'], { detail: 'TumblingWindows(size=60000ms, grace=5000ms)' })
 *   .addSink('clickhouse', ['per-minute'], { detail: 'table: traffic_per_minute' });
 * console.log(topology.describe());
 * // Topology
 * //   Sub-topology: 0
 * //     Source: gps (topic: transport.gps)
 * //       --> district
 * //     Operator: district (lookup DistrictIndex)
 * //       --> per-minute
 * //       <-- gps
 * //     ...
 */
export class Topology {
  readonly #nodes: TopologyNode[] = [];
  readonly #byName = new Map<string, TopologyNode>();

  /** Adds a node that reads from outside (e.g. a Kafka topic). */
  addSource(name: string, options: NodeOptions = {}): this {
    return this.#add(name, 'source', [], options);
  }

  /** Adds a node that reads from `parents` (at least one) and feeds other nodes. */
  addOperator(name: string, parents: readonly string[], options: NodeOptions = {}): this {
    return this.#add(name, 'operator', parents, options);
  }

  /** Adds a node that reads from `parents` (at least one) and writes outside. */
  addSink(name: string, parents: readonly string[], options: NodeOptions = {}): this {
    return this.#add(name, 'sink', parents, options);
  }

  /** The nodes in insertion order (frozen copies). */
  nodes(): readonly TopologyNode[] {
    return [...this.#nodes];
  }

  /** The edges `[from, to]`, by child in insertion order, then by parent in the order given. */
  edges(): readonly (readonly [string, string])[] {
    return this.#nodes.flatMap((node) => node.parents.map((parent) => [parent, node.name] as const));
  }

  /** Plain data for the engine or the UI: `{ nodes, edges }`. */
  toJSON(): { nodes: readonly TopologyNode[]; edges: readonly (readonly [string, string])[] } {
    return { nodes: this.nodes(), edges: this.edges() };
  }

  /** Stable text description (see the class comment for the format). */
  describe(): string {
    const children = new Map<string, string[]>(this.#nodes.map((n) => [n.name, []]));
    for (const node of this.#nodes) for (const parent of node.parents) children.get(parent)!.push(node.name);
    // Connected parts: union-find over names, numbered by their first node.
    const root = new Map<string, string>(this.#nodes.map((n) => [n.name, n.name]));
    const find = (name: string): string => {
      let r = name;
      while (root.get(r) !== r) r = root.get(r)!;
      root.set(name, r);
      return r;
    };
    for (const node of this.#nodes) {
      for (const parent of node.parents) {
        const a = find(parent);
        const b = find(node.name);
        if (a !== b) root.set(b, a);
      }
    }
    const parts = new Map<string, TopologyNode[]>();
    for (const node of this.#nodes) {
      const key = find(node.name);
      let part = parts.get(key);
      if (part === undefined) {
        part = [];
        parts.set(key, part);
      }
      part.push(node);
    }
    const lines = ['Topology'];
    let index = 0;
    for (const part of parts.values()) {
      lines.push(`  Sub-topology: ${index++}`);
      for (const node of part) {
        lines.push(`    ${LABEL[node.kind]}: ${node.name}${node.detail ? ` (${node.detail})` : ''}`);
        for (const child of children.get(node.name)!) lines.push(`      --> ${child}`);
        for (const parent of node.parents) lines.push(`      <-- ${parent}`);
      }
    }
    if (this.#nodes.length === 0) lines.push('  (empty)');
    return `${lines.join('\n')}\n`;
  }

  #add(name: string, kind: NodeKind, parents: readonly string[], options: NodeOptions): this {
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new CityOpsError(
        'INVALID_OPTIONS',
        `topology node name must be 1-128 letters, digits, '.', '_' or '-' starting with a letter or digit, got ${JSON.stringify(name)}`,
      );
    }
    if (this.#byName.has(name)) {
      throw new CityOpsError('INVALID_OPTIONS', `topology node name "${name}" is already used`);
    }
    if (kind !== 'source' && parents.length === 0) {
      throw new CityOpsError('INVALID_OPTIONS', `topology ${kind} "${name}" needs at least one parent`);
    }
    const seen = new Set<string>();
    for (const parent of parents) {
      const parentNode = this.#byName.get(parent);
      if (parentNode === undefined) {
        throw new CityOpsError(
          'INVALID_OPTIONS',
          `topology node "${name}": parent "${parent}" does not exist (add it first)`,
        );
      }
      if (parentNode.kind === 'sink') {
        throw new CityOpsError('INVALID_OPTIONS', `topology node "${name}": parent "${parent}" is a sink`);
      }
      if (seen.has(parent)) {
        throw new CityOpsError(
          'INVALID_OPTIONS',
          `topology node "${name}": parent "${parent}" is listed twice`,
        );
      }
      seen.add(parent);
    }
    const detail = options.detail;
    if (detail !== undefined && (typeof detail !== 'string' || detail.includes('\n'))) {
      throw new CityOpsError(
        'INVALID_OPTIONS',
        `topology node "${name}": options.detail must be one line of text`,
      );
    }
    const node: TopologyNode = Object.freeze({
      name,
      kind,
      parents: Object.freeze([...parents]),
      ...(detail === undefined ? {} : { detail }),
    });
    this.#nodes.push(node);
    this.#byName.set(name, node);
    return this;
  }
}
