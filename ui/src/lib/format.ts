import type { ContactSummary, SyncProgress } from './types';

/** "Title · Account", leaving out what is missing; empty when both are. */
export function roleLine(contact: ContactSummary): string {
  return [contact.title, contact.account_name].filter(isPresent).join(' · ');
}

/** Up to two letters for the avatar: first and last name's initials, else the name's words. */
export function initials(contact: ContactSummary): string {
  const words =
    contact.first_name || contact.last_name
      ? [contact.first_name, contact.last_name].filter(isPresent)
      : contact.name.split(/\s+/).filter(Boolean);
  const letters = words.map((word) => Array.from(word)[0] ?? '');
  const picked = letters.length > 2 ? [letters[0], letters[letters.length - 1]] : letters;
  return picked.join('').toUpperCase() || '?';
}

const objectNames: Record<string, string> = {
  Account: 'accounts',
  Contact: 'contacts',
  Opportunity: 'opportunities',
  Task: 'activities',
};

/** "Syncing contacts… 120 of 200" for the progress bar's label. */
export function progressLabel(progress: SyncProgress | null): string {
  if (!progress) return 'Syncing…';
  const what = objectNames[progress.object] ?? progress.object.toLowerCase();
  const count =
    progress.total !== null
      ? `${progress.done.toLocaleString('en')} of ${progress.total.toLocaleString('en')}`
      : progress.done.toLocaleString('en');
  return `Syncing ${what}… ${count}`;
}

/** Fraction done, or null when the total is not known (an indeterminate bar). */
export function progressFraction(progress: SyncProgress | null): number | null {
  if (!progress || progress.total === null || progress.total <= 0) return null;
  return Math.max(0, Math.min(1, progress.done / progress.total));
}

function isPresent(value: string | null | undefined): value is string {
  return typeof value === 'string' && value.trim().length > 0;
}

/** A stable colour (0–5) per contact, so the same person always has the same avatar. */
export function avatarTone(id: string): number {
  let hash = 0;
  for (const char of id) hash = (hash * 31 + char.codePointAt(0)!) >>> 0;
  return hash % 6;
}

const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });

/** "$25,000", or "—" when there is no amount. */
export function formatAmount(amount: number | null | undefined): string {
  return typeof amount === 'number' && Number.isFinite(amount) ? money.format(amount) : '—';
}

/** A Salesforce date (`YYYY-MM-DD`) as the local calendar day: "Mar 1, 2026". */
export function formatDate(text: string | null | undefined): string {
  if (!text) return '—';
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (!match) return text;
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return date.toLocaleDateString('en-US', { month: 'short', day: 'numeric', year: 'numeric' });
}

/** Bytes as "12.3 MB". */
export function formatBytes(bytes: number | null | undefined): string {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes)) return '—';
  const units = ['bytes', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** The words on a pending marker. */
export function pendingLabel(state: string | null | undefined): string {
  switch (state) {
    case 'waiting':
      return 'Waiting to send';
    case 'sending':
      return 'Sending';
    case 'failed':
      return 'Failed';
    case 'conflict':
      return 'Conflict';
    case 'waiting_for_sign_in':
      return 'Waiting for sign-in';
    default:
      return '';
  }
}

/** "1 contact", "2 contacts". */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString('en')} ${count === 1 ? one : many}`;
}

/** A JSON field value as the rep reads it. */
export function showValue(value: unknown): string {
  if (value === null || value === undefined || value === '') return '(empty)';
  if (typeof value === 'number') return value.toLocaleString('en');
  return String(value);
}

/** A maps link for an address (opens the system's maps app or browser). */
export function mapsHref(address: string): string {
  return `https://maps.google.com/?q=${encodeURIComponent(address)}`;
}

/** "+1 415 555 0134" → "tel:+14155550134". */
export function telHref(phone: string): string {
  return `tel:${phone.replace(/[^\d+]/g, '')}`;
}

/** "about 2 minutes left", from how fast this object's records have come so far; null when unknown. */
export function remainingEstimate(progress: SyncProgress | null, elapsedMs: number): string | null {
  if (!progress || progress.total === null || progress.done <= 0 || elapsedMs < 500) return null;
  const left = Math.max(0, progress.total - progress.done);
  const seconds = Math.round(((elapsedMs / 1000) * left) / progress.done);
  if (seconds < 5) return 'almost done';
  if (seconds < 60) return 'less than a minute left';
  const minutes = Math.round(seconds / 60);
  return `about ${minutes} ${minutes === 1 ? 'minute' : 'minutes'} left`;
}
