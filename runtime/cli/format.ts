/**
 * Numbers for people, one way everywhere (compile, inspect, the budget table and plot, tradeoff, bench,
 * build:worker): byte counts and relative changes.
 * @module
 */

/**
 * Bytes in decimal units: `18.78 MB`, `163.2 kB`, `512 B`. With `trim`, trailing zeros go (`3 MB`,
 * `2.5 MB`: axis ticks).
 */
export function formatBytes(n: number, { trim = false }: { trim?: boolean } = {}): string {
  const [value, unit] = n >= 1e6 ? [(n / 1e6).toFixed(2), "MB"] : n >= 1e3 ? [(n / 1e3).toFixed(1), "kB"] : [
    String(n),
    "B",
  ];
  return `${trim ? String(+value) : value} ${unit}`;
}

/** A relative change with its sign: `formatPercent(0.0289)` → `+2.89 %`, `formatPercent(-0.5, 1)` → `-50.0 %`. */
export function formatPercent(fraction: number, digits = 2): string {
  return `${fraction >= 0 ? "+" : ""}${(fraction * 100).toFixed(digits)} %`;
}
