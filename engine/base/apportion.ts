/** Splits `total` in proportion to `weights` (largest remainders), so the parts add up to `total` exactly. */
export function apportion(weights: readonly number[], total: number): Int32Array {
  if (!(weights.reduce((a, w) => a + w, 0) > 0))
    return apportion(
      weights.map(() => 1),
      total,
    );
  const sum = weights.reduce((a, w) => a + w, 0);
  const parts = new Int32Array(weights.length);
  const remainders: Array<[number, number]> = [];
  let given = 0;
  weights.forEach((w, i) => {
    const exact = (w * total) / sum;
    parts[i] = Math.floor(exact);
    given += parts[i]!;
    remainders.push([exact - parts[i]!, i]);
  });
  remainders.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; k < total - given; k++) parts[remainders[k]![1]]! += 1;
  return parts;
}
