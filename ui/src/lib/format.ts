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
