import { describe, expect, it } from 'vitest';
import { isMissingCommand } from './backend';
import { pageFromAll } from './paging';
import type { ContactSummary } from './types';

const person = (id: string, name: string) => ({ id, name }) as ContactSummary;
const all = [person('3', 'ann'), person('1', 'Bob'), person('2', 'bob'), person('4', 'Cy')];

describe('paging fallback', () => {
  it('cuts keyset pages by (name, id) and counts the whole list', () => {
    const first = pageFromAll(all, { search: null, after: null, limit: 2, offset: 0 });
    expect(first.items.map((c) => c.id)).toEqual(['3', '1']);
    expect(first.total).toBe(4);
    const second = pageFromAll(all, { search: null, after: { name: first.items[1].name, id: first.items[1].id }, limit: 2, offset: 0 });
    expect(second.items.map((c) => c.id)).toEqual(['2', '4']);
    // The cursor's contact was deleted meanwhile: the next page starts after where it was.
    const gone = pageFromAll(all, { search: null, after: { name: 'Bo', id: '9' }, limit: 5, offset: 0 });
    expect(gone.items.map((c) => c.id)).toEqual(['1', '2', '4']);
  });

  it('pages ranked matches by offset and does not count them', () => {
    const page = pageFromAll(all, { search: 'b', after: null, limit: 1, offset: 1 });
    expect(page).toEqual({ items: [all[1]], total: null });
  });

  it('knows a shell that lacks a command', () => {
    expect(isMissingCommand('Command list_contacts_page not found')).toBe(true);
    expect(isMissingCommand({ kind: 'offline', message: 'unreachable' })).toBe(false);
  });
});
