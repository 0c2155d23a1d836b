import * as gcoordModule from 'gcoord';

// gcoord is CommonJS whose types declare an ES default export: Node hands the exports object itself to the
// namespace's `default`, while TypeScript sees it one level deeper. Accept either shape.
type Loaded = typeof gcoordModule.default;
type Gcoord = Loaded extends { default: infer D } ? D : Loaded;
const loaded = gcoordModule.default as unknown as Gcoord & { default?: Gcoord };
const gcoord: Gcoord = loaded.default ?? loaded;

/**
 * Converts GeoJSON (any geometry, feature or collection) or a single `[lng, lat]` position from GCJ-02 (the
 * obfuscated datum of Chinese web maps, in which the vendored Shenzhen boundaries are drawn) to WGS84, with
 * `gcoord`. Pure: the input is copied first (gcoord itself converts in place). Accuracy of the inverse
 * transform: about 1 m.
 *
 * @example
 * gcj02ToWgs84([114.0549, 22.5397]); // [114.0500..., 22.5426...]
 * const districts = gcj02ToWgs84(JSON.parse(text));
 */
export function gcj02ToWgs84<T extends object | [number, number]>(input: T): T {
  return gcoord.transform(structuredClone(input) as never, gcoord.GCJ02, gcoord.WGS84) as T;
}
