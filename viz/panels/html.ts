/** Escapes text for innerHTML. Every value from the server goes through this. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** An inline SVG sparkline of `values` (nulls are gaps), `width` x `height` px. */
export function sparkline(values: Array<number | null>, width = 90, height = 22, color = '#7fd4ff'): string {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (finite.length < 2) return `<svg class="spark" width="${width}" height="${height}"></svg>`;
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  const span = max - min || 1;
  const step = width / Math.max(1, values.length - 1);
  const points: string[] = [];
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) return;
    points.push(`${(i * step).toFixed(1)},${(height - 2 - ((v - min) / span) * (height - 4)).toFixed(1)}`);
  });
  return `<svg class="spark" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><polyline fill="none" stroke="${color}" stroke-width="1.5" points="${points.join(' ')}"/></svg>`;
}

/** Number with thousands separators, or a dash. */
export function fmt(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

const rendered = new WeakMap<HTMLElement, string>();

/** Sets `element.innerHTML` only when the markup changed, so that a panel refreshed every second does
 * not rebuild (and detach under the pointer) elements that did not change. Returns whether it changed. */
export function setHtml(element: HTMLElement, html: string): boolean {
  if (rendered.get(element) === html) return false;
  rendered.set(element, html);
  element.innerHTML = html;
  return true;
}

/**
 * Whether a failed poll is worth reporting as a page error. A fetch that never reached the server (a
 * TypeError) is not: the live connection's status already says the server is away, and the next poll
 * retries. An answer the server refused is.
 */
export function worthReporting(error: unknown): boolean {
  return !(error instanceof TypeError);
}
