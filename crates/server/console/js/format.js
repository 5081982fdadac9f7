// Formatting shared by the views: counts, limits, times, durations, tier names.

const count = new Intl.NumberFormat();

export const num = (n) => count.format(n ?? 0);

export const TIERS = [
  {id: 'free', label: 'Free'},
  {id: 'tier1', label: 'Tier 1'},
  {id: 'tier2', label: 'Tier 2'},
  {id: 'tier3', label: 'Tier 3'},
];

export const tierLabel = (id) => TIERS.find((t) => t.id === id)?.label ?? id;

/** A limit as the contract gives it: null is unlimited, 0 is not offered on the tier. */
export function limitText(limit) {
  if (limit === null || limit === undefined) return 'unlimited';
  if (limit === 0) return 'not available';
  return num(limit);
}

/** "2026-11-03 14:05" in the reader's time zone; "never" for null. */
export function dateTime(iso) {
  if (!iso) return 'never';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, {dateStyle: 'medium', timeStyle: 'short'});
}

const relative = new Intl.RelativeTimeFormat(undefined, {numeric: 'auto'});

/** "3 minutes ago", measured against `now` (ms). */
export function ago(iso, now = Date.now()) {
  if (!iso) return 'never';
  const s = Math.round((Date.parse(iso) - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 60) return relative.format(s, 'second');
  if (abs < 3600) return relative.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return relative.format(Math.round(s / 3600), 'hour');
  return relative.format(Math.round(s / 86400), 'day');
}

/** Whole seconds as "7h 05m 09s", "4m 10s" or "9s". */
export function duration(totalSeconds) {
  const t = Math.max(0, Math.ceil(totalSeconds));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const s = t % 60;
  const two = (n) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h ${two(m)}m ${two(s)}s`;
  if (m > 0) return `${m}m ${two(s)}s`;
  return `${s}s`;
}

/** "14:00" for the start of an hour, in the reader's time zone. */
export const hourLabel = (iso) => new Date(iso).toLocaleTimeString(undefined, {hour: '2-digit', minute: '2-digit'});
