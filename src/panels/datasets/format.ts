/**
 * Formatting for the Datasets panel: sizes, counts, dates, statistics, deltas.
 * Pure functions, so they are trivially reused by other panels.
 */

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) {
    return '–';
  }
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '–' : n.toLocaleString();
}

export function formatDate(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '–';
}

/** A statistic in at most 4 significant digits (big and tiny ones in exponent form). */
export function formatNumber(value: unknown): string {
  if (value === null || value === undefined) {
    return '–';
  }
  if (typeof value !== 'number') {
    return String(value);
  }
  if (Number.isInteger(value) && Math.abs(value) < 1e9) {
    return value.toLocaleString();
  }
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e6 || abs < 1e-3)) {
    return value.toExponential(2);
  }
  return Number(value.toPrecision(4)).toLocaleString();
}

export function formatShare(share: number | null | undefined): string {
  if (share === null || share === undefined) {
    return '–';
  }
  const pct = share * 100;
  return `${pct > 0 && pct < 0.1 ? '<0.1' : pct.toFixed(pct < 10 ? 1 : 0)}%`;
}

/** `+3`, `-1.5`, `±0`: the sign always shown. */
export function formatDelta(delta: number | null | undefined): string {
  if (delta === null || delta === undefined) {
    return '';
  }
  if (delta === 0) {
    return '±0';
  }
  return `${delta > 0 ? '+' : ''}${formatNumber(delta)}`;
}

export function formatLabel(value: unknown): string {
  if (value === null || value === undefined) {
    return 'null';
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}
