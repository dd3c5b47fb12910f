/**
 * How run values read in the panel: compact numbers, local times, short commits.
 */

import { IRunSummary } from '../../api/experiments';

export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (Number.isInteger(value) && Math.abs(value) < 1e9) {
    return String(value);
  }
  return Number(value.toPrecision(6)).toString();
}

export function formatTime(ms: number | null): string {
  return ms ? new Date(ms).toLocaleString() : '';
}

export function formatDuration(ms: number | null): string {
  if (ms === null) {
    return '';
  }
  const seconds = ms / 1000;
  if (seconds < 120) {
    return `${seconds.toFixed(1)} s`;
  }
  return seconds < 7200
    ? `${(seconds / 60).toFixed(1)} min`
    : `${(seconds / 3600).toFixed(1)} h`;
}

/** The first 8 characters of a commit, with * when the work tree was dirty. */
export function shortCommit(run: IRunSummary): string {
  if (!run.git_commit) {
    return '';
  }
  return run.git_commit.slice(0, 8) + (run.git_dirty ? '*' : '');
}

export function formatSize(bytes: number | null): string {
  if (bytes === null) {
    return '';
  }
  const units = ['B', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
}

/** A run's label in charts and headers: its name, else the start of its id. */
export function runLabel(run: IRunSummary): string {
  return run.name || run.id.slice(0, 8);
}
