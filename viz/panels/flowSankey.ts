import { sankey, sankeyLinkHorizontal } from 'd3-sankey';
import type { Governance } from '../../engine/access/governance.ts';
import { escapeHtml, fmt } from './html.ts';

interface Node {
  id: string;
  label: string;
  side: 'provider' | 'consumer';
}
interface Link {
  source: string;
  target: string;
  value: number;
  records: number;
  deliveries: number;
}

const PROVIDER_COLOR = '#5aa9e6';
const CONSUMER_COLOR = '#f2a65a';

/**
 * The ledger's flows as a Sankey chart (d3-sankey lays it out; the SVG is written here): providers on
 * the left, consumers on the right, each link as wide as the records delivered. A department that both
 * provides and receives appears on both sides, so the graph stays acyclic as d3-sankey requires.
 */
export function flowSankey(
  flows: Governance['flows'],
  name: (department: string) => string,
  width = 620,
  height = 280,
): string {
  const links: Link[] = flows
    .filter((f) => f.records > 0 || f.deliveries > 0)
    .map((f) => ({
      source: `p:${f.provider}`,
      target: `c:${f.consumer}`,
      // Frames that carried no record still moved data: they count once each so the flow shows.
      value: f.records > 0 ? f.records : f.deliveries,
      records: f.records,
      deliveries: f.deliveries,
    }));
  if (links.length === 0) return '';
  const nodes = new Map<string, Node>();
  for (const l of links) {
    const [p, c] = [l.source.slice(2), l.target.slice(2)];
    nodes.set(l.source, { id: l.source, label: name(p), side: 'provider' });
    nodes.set(l.target, { id: l.target, label: name(c), side: 'consumer' });
  }
  const layout = sankey<Node, Link>()
    .nodeId((n) => n.id)
    .nodeWidth(12)
    .nodePadding(10)
    .extent([
      [150, 6],
      [width - 150, height - 6],
    ]);
  const graph = layout({
    nodes: [...nodes.values()].map((n) => ({ ...n })),
    links: links.map((l) => ({ ...l })),
  });
  const path = sankeyLinkHorizontal();
  const linkSvg = graph.links
    .map((l) => {
      const source = l.source as Node;
      const target = l.target as Node;
      const title = `${source.label} → ${target.label}: ${fmt(l.records)} · ${fmt(l.deliveries)}`;
      return `<path class="flow" d="${path(l) ?? ''}" stroke-width="${Math.max(1, l.width ?? 1).toFixed(1)}" data-from="${escapeHtml(source.id)}" data-to="${escapeHtml(target.id)}"><title>${escapeHtml(title)}</title></path>`;
    })
    .join('');
  const nodeSvg = graph.nodes
    .map((n) => {
      const [x0, x1, y0, y1] = [n.x0 ?? 0, n.x1 ?? 0, n.y0 ?? 0, n.y1 ?? 0];
      const left = n.side === 'provider';
      const color = left ? PROVIDER_COLOR : CONSUMER_COLOR;
      const textX = left ? x0 - 6 : x1 + 6;
      return `<g class="node ${n.side}"><rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${Math.max(1, y1 - y0)}" fill="${color}"/><text x="${textX}" y="${(y0 + y1) / 2}" dy="0.35em" text-anchor="${left ? 'end' : 'start'}">${escapeHtml(n.label)}</text></g>`;
    })
    .join('');
  return `<svg class="sankey" data-testid="sankey" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${linkSvg}${nodeSvg}</svg>`;
}
