import { inflateSync } from 'node:zlib';

/** Decoded RGBA pixels of a PNG screenshot. */
export interface Pixels {
  width: number;
  height: number;
  /** RGBA, 4 bytes per pixel, row by row. */
  data: Uint8Array;
}

/**
 * Decodes an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium's screenshots are) so that tests can
 * check what the canvas really shows, pixel by pixel.
 */
export function decodePng(png: Buffer): Pixels {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let offset = 8;
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('ascii', offset + 4, offset + 8);
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const depth = body[8];
      colorType = body[9]!;
      if (depth !== 8 || (colorType !== 2 && colorType !== 6) || body[12] !== 0)
        throw new Error(`unsupported PNG (depth ${depth}, colour type ${colorType}, interlace ${body[12]})`);
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  const channels = colorType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(width * height * 4);
  let previous = new Uint8Array(stride);
  for (let y = 0; y < height; y += 1) {
    const filter = raw[y * (stride + 1)]!;
    const line = new Uint8Array(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let x = 0; x < stride; x += 1) {
      const a = x >= channels ? line[x - channels]! : 0;
      const b = previous[x]!;
      const c = x >= channels ? previous[x - channels]! : 0;
      let add = 0;
      if (filter === 1) add = a;
      else if (filter === 2) add = b;
      else if (filter === 3) add = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        add = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      line[x] = (line[x]! + add) & 0xff;
    }
    for (let x = 0; x < width; x += 1) {
      const o = (y * width + x) * 4;
      out[o] = line[x * channels]!;
      out[o + 1] = line[x * channels + 1]!;
      out[o + 2] = line[x * channels + 2]!;
      out[o + 3] = channels === 4 ? line[x * channels + 3]! : 255;
    }
    previous = line;
  }
  return { width, height, data: out };
}

/** Pixels (within the box) that differ from `base` by more than `tolerance` in some channel. */
export function changedPixels(
  base: Pixels,
  other: Pixels,
  box = { x: 0, y: 0, width: base.width, height: base.height },
  tolerance = 24,
): number {
  let count = 0;
  for (let y = box.y; y < box.y + box.height; y += 1) {
    for (let x = box.x; x < box.x + box.width; x += 1) {
      const o = (y * base.width + x) * 4;
      if (
        Math.abs(base.data[o]! - other.data[o]!) > tolerance ||
        Math.abs(base.data[o + 1]! - other.data[o + 1]!) > tolerance ||
        Math.abs(base.data[o + 2]! - other.data[o + 2]!) > tolerance
      )
        count += 1;
    }
  }
  return count;
}

/** Pixels (within the box) close to any of `colors` (RGB), among those that changed from `base`. */
export function pixelsNear(
  base: Pixels,
  other: Pixels,
  colors: Array<[number, number, number]>,
  box = { x: 0, y: 0, width: base.width, height: base.height },
  tolerance = 40,
): number {
  let count = 0;
  for (let y = box.y; y < box.y + box.height; y += 1) {
    for (let x = box.x; x < box.x + box.width; x += 1) {
      const o = (y * base.width + x) * 4;
      const r = other.data[o]!;
      const g = other.data[o + 1]!;
      const b = other.data[o + 2]!;
      if (
        Math.abs(base.data[o]! - r) + Math.abs(base.data[o + 1]! - g) + Math.abs(base.data[o + 2]! - b) <
        30
      )
        continue;
      if (colors.some(([cr, cg, cb]) => Math.abs(cr - r) + Math.abs(cg - g) + Math.abs(cb - b) < tolerance))
        count += 1;
    }
  }
  return count;
}
