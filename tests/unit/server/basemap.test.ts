import { describe, expect, it } from 'vitest';
import { loadBasemap, rewriteStyle } from '../../../engine/server/basemap.ts';

describe('offline basemap', () => {
  it('loads the packaged style with no URL outside our server', () => {
    const { style } = loadBasemap('/basemap');
    const text = JSON.stringify(style);
    expect(text).not.toMatch(/https?:\/\//);
    expect(text).not.toContain('smp://');
    expect(Object.keys(style['sources'] as object)).toContain('land');
    expect(style).not.toHaveProperty('glyphs');
  });

  it('rewrites smp:// URLs to ours and drops sources that point elsewhere', () => {
    const style = rewriteStyle(
      {
        version: 8,
        glyphs: 'smp://maps.v1/fonts/{fontstack}/{range}.pbf',
        sprite: 'https://example.org/sprite',
        sources: {
          local: { type: 'vector', tiles: ['smp://maps.v1/s/0/{z}/{x}/{y}.mvt.gz'] },
          remote: { type: 'raster', tiles: ['https://tile.example.org/{z}/{x}/{y}.png'] },
        },
        layers: [
          { id: 'a', type: 'fill', source: 'local' },
          { id: 'b', type: 'raster', source: 'remote' },
          { id: 'c', type: 'symbol', source: 'local' },
        ],
      },
      '/basemap',
    );
    expect(style['sources']).toEqual({
      local: { type: 'vector', tiles: ['/basemap/s/0/{z}/{x}/{y}.mvt.gz'] },
    });
    expect((style['layers'] as Array<{ id: string }>).map((l) => l.id)).toEqual(['a']);
    expect(style).not.toHaveProperty('sprite');
    expect(style).not.toHaveProperty('glyphs');
  });
});
