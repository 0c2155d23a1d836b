/** One bar group of the chart: a pipeline's CPU per event and its share of windows counted exactly. */
export interface ChartRow {
  readonly name: string;
  /** CPU microseconds per published message, by process. */
  readonly cpuMicros: Record<string, number>;
  /** Share of the truth's windows it counted exactly, 0 to 1. */
  readonly exactShare: number;
}

const COLOURS: Record<string, string> = {
  engine: '#1f77b4',
  java: '#ff7f0e',
  clickhouse: '#2ca02c',
  kafka: '#7f7f7f',
};

/**
 * The chart committed beside bench/results/peers.json: left, CPU per event stacked by process; right, the
 * share of windows counted exactly. Written by hand as SVG: two small bar charts do not need a plotting
 * library, and the file stays readable in a diff.
 */
export function peersChart(rows: readonly ChartRow[], caption: string): string {
  const width = 800;
  const rowHeight = 46;
  const top = 56;
  const height = top + rows.length * rowHeight + 60;
  const maxCpu = Math.max(1, ...rows.map((r) => sum(Object.values(r.cpuMicros))));
  const cpuWidth = 300;
  const exactLeft = 580;
  const exactWidth = 180;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="230" y="24" font-size="14" font-weight="bold">CPU per published event (µs), by process</text>`,
    `<text x="${exactLeft}" y="24" font-size="14" font-weight="bold">windows counted exactly</text>`,
  ];
  rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    parts.push(`<text x="220" y="${y + 18}" text-anchor="end">${xmlText(row.name)}</text>`);
    let x = 230;
    for (const [process, micros] of Object.entries(row.cpuMicros)) {
      const w = (micros / maxCpu) * cpuWidth;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y + 4}" width="${w.toFixed(1)}" height="20" fill="${COLOURS[process] ?? '#bcbd22'}"><title>${xmlText(process)} ${micros.toFixed(1)} µs</title></rect>`,
      );
      x += w;
    }
    parts.push(
      `<text x="${(x + 6).toFixed(1)}" y="${y + 18}">${sum(Object.values(row.cpuMicros)).toFixed(1)}</text>`,
    );
    const share = Math.max(0, Math.min(1, row.exactShare));
    parts.push(
      `<rect x="${exactLeft}" y="${y + 4}" width="${exactWidth}" height="20" fill="#eee"/>`,
      `<rect x="${exactLeft}" y="${y + 4}" width="${(share * exactWidth).toFixed(1)}" height="20" fill="${share === 1 ? '#2ca02c' : '#d62728'}"/>`,
      `<text x="${exactLeft + exactWidth + 6}" y="${y + 18}">${(share * 100).toFixed(1)}%</text>`,
    );
  });
  const legendY = top + rows.length * rowHeight + 14;
  Object.entries(COLOURS).forEach(([process, colour], i) => {
    const x = 230 + i * 100;
    parts.push(
      `<rect x="${x}" y="${legendY}" width="12" height="12" fill="${colour}"/>`,
      `<text x="${x + 16}" y="${legendY + 11}">${process}</text>`,
    );
  });
  parts.push(`<text x="10" y="${legendY + 36}" fill="#555">${xmlText(caption)}</text>`, '</svg>');
  return `${parts.join('\n')}\n`;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

function xmlText(text: string): string {
  return text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
