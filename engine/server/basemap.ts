import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { inflateRawSync } from 'node:zlib';
import { CityOpsError } from '../errors.ts';

/** The offline basemap: a styled map package served piece by piece under `/basemap/`. */
export interface Basemap {
  /** style.json with every `smp://` URL rewritten to `<base>/...` and no URL outside this server. */
  style: Record<string, unknown>;
  /** Other files of the package (tiles, sprites, glyphs), by path inside it. */
  files: Map<string, Buffer>;
}

const SMP_URL = 'smp://maps.v1/';

/**
 * Loads a styled map package (.smp: a zip with style.json, tiles, glyphs and sprites; by default the
 * world map of `@comapeo/fallback-smp`) and rewrites its style so that the page fetches everything from
 * our server: `smp://maps.v1/<path>` becomes `<base>/<path>`, and any other absolute URL is dropped
 * (sources with one are removed, with their layers). No glyphs URL is kept: maplibre then draws all
 * labels with local fonts (Noto CJK for Chinese, via `localIdeographFontFamily`).
 *
 * @example
 * const basemap = loadBasemap('/basemap'); // basemap.style.sources: inline GeoJSON land, water, borders
 */
export function loadBasemap(base = '/basemap', smpPath?: string): Basemap {
  const path = smpPath ?? createRequire(import.meta.url).resolve('@comapeo/fallback-smp');
  let entries: Map<string, Buffer>;
  try {
    entries = readZip(readFileSync(path));
  } catch (cause) {
    throw new CityOpsError('CONFIG_INVALID', `could not read the basemap package ${path}`, {
      cause,
      hint: 'reinstall dependencies (`npm ci`) or point the server at another .smp file',
    });
  }
  const styleBytes = entries.get('style.json');
  if (!styleBytes) throw new CityOpsError('CONFIG_INVALID', `${path} has no style.json`);
  entries.delete('style.json');
  const style = rewriteStyle(JSON.parse(styleBytes.toString('utf8')) as Record<string, unknown>, base);
  return { style, files: entries };
}

/** Rewrites smp:// URLs to `base`, drops anything pointing outside. Exported for tests. */
export function rewriteStyle(style: Record<string, unknown>, base: string): Record<string, unknown> {
  const rewrite = (value: unknown): unknown => {
    if (typeof value === 'string') {
      if (value.startsWith(SMP_URL)) return `${base}/${value.slice(SMP_URL.length)}`;
      return value;
    }
    if (Array.isArray(value)) return value.map(rewrite);
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v)]));
    return value;
  };
  const out = rewrite(style) as Record<string, unknown>;
  delete out['glyphs'];
  if (typeof out['sprite'] === 'string' && isExternal(out['sprite'])) delete out['sprite'];
  const sources = (out['sources'] ?? {}) as Record<string, Record<string, unknown>>;
  const dropped = new Set<string>();
  for (const [name, source] of Object.entries(sources)) {
    const urls = [source['url'], ...((source['tiles'] as unknown[] | undefined) ?? [])];
    if (urls.some((u) => typeof u === 'string' && isExternal(u))) {
      dropped.add(name);
      delete sources[name];
    }
  }
  const layers = (out['layers'] ?? []) as Array<Record<string, unknown>>;
  out['layers'] = layers
    .filter((layer) => !dropped.has(layer['source'] as string))
    // Label layers would need a font stack; the map draws its own labels (districts) instead.
    .filter((layer) => layer['type'] !== 'symbol');
  return out;
}

function isExternal(url: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url);
}

/** Reads every file of a zip archive (stored or deflated entries), by path. */
function readZip(zip: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i -= 1) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip file (no end of central directory)');
  const count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < count; n += 1) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const localOffset = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    offset += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith('/')) continue;
    const localNameLength = zip.readUInt16LE(localOffset + 26);
    const localExtraLength = zip.readUInt16LE(localOffset + 28);
    const start = localOffset + 30 + localNameLength + localExtraLength;
    const data = zip.subarray(start, start + compressedSize);
    if (method === 0) files.set(name, Buffer.from(data));
    else if (method === 8) files.set(name, inflateRawSync(data));
    else throw new Error(`zip entry ${name} uses unsupported compression method ${method}`);
  }
  return files;
}
