const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const units: [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', DAY],
  ['hour', HOUR],
  ['minute', MINUTE],
];

const formatter = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/**
 * "just now", "5 minutes ago", "yesterday", "3 days ago"; past 30 days, the date.
 * `null` when `iso` is not a date, so the caller can leave the phrase out.
 */
export function relativeTime(iso: string, now: Date): string | null {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return null;
  const seconds = Math.round((now.getTime() - then) / 1000);
  // A clock a little ahead of ours is still "just now".
  if (seconds < MINUTE) return 'just now';
  if (seconds >= 30 * DAY) {
    return new Date(then).toLocaleDateString('en', { day: 'numeric', month: 'short', year: 'numeric' });
  }
  for (const [unit, size] of units) {
    if (seconds >= size) {
      return formatter.format(-Math.floor(seconds / size), unit);
    }
  }
  return 'just now';
}
