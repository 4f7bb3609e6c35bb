import type { ContactPage, ContactPageQuery, ContactSummary } from './types';

/** Core's contact order: name without case, then id. */
export function compareContacts(a: { name: string; id: string }, b: { name: string; id: string }): number {
  const byName = a.name.toLowerCase().localeCompare(b.name.toLowerCase(), 'en');
  if (byName !== 0) return byName;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * A keyset page cut from a whole list (the fallback while the shell has no `list_contacts_page`).
 * When searching, the list is in relevance order, so `after` is found by id.
 */
export function pageFromAll(all: ContactSummary[], query: ContactPageQuery): ContactPage {
  let start = query.offset ?? 0;
  if (query.after) {
    const at = all.findIndex((c) => c.id === query.after!.id);
    start = at === -1 ? all.findIndex((c) => compareContacts(c, query.after!) > 0) : at + 1;
    if (start === -1) start = all.length;
  }
  return { items: all.slice(start, start + (query.limit ?? all.length)), total: query.search ? null : all.length };
}
