import { describe, expect, it } from 'vitest';
import { parentRoute, parseRoute, recordHash, recordSection, routeHash } from './routes';

describe('routes', () => {
  it('parses sections, records and forms', () => {
    expect(parseRoute('#/contacts/003A/log-call')).toEqual({ section: 'contacts', id: '003A', form: 'log-call', q: '' });
    expect(parseRoute('#/leads/new')).toEqual({ section: 'leads', id: null, form: 'new-lead', q: '' });
    expect(parseRoute('#/search?q=acme%20co')).toMatchObject({ section: 'search', q: 'acme co' });
    expect(parseRoute('')).toMatchObject({ section: 'contacts', id: null });
    expect(parseRoute('#/nowhere/x')).toMatchObject({ section: 'contacts', id: null });
    expect(parseRoute('#/opportunities/006X/bogus')).toMatchObject({ id: '006X', form: null });
  });

  it('round-trips through the hash', () => {
    for (const hash of ['#/contacts', '#/contacts/003A', '#/opportunities/006B/edit', '#/leads/new', '#/search?q=a%20b', '#/pending/k1']) {
      expect(routeHash(parseRoute(hash))).toBe(hash);
    }
  });

  it('opens records by object name, id prefix and local id', () => {
    expect(recordSection('Opportunity')).toBe('opportunities');
    expect(recordSection('001000000000001AAA')).toBe('accounts');
    expect(recordSection('local-00Q-abc')).toBe('leads');
    expect(recordHash('Lead', 'local-00Q-1')).toBe('#/leads/local-00Q-1');
  });

  it('goes back from a form to its record, from a record to its list', () => {
    expect(parentRoute(parseRoute('#/contacts/003A/log-call'))).toMatchObject({ section: 'contacts', id: '003A', form: null });
    expect(parentRoute(parseRoute('#/accounts/001A'))).toMatchObject({ section: 'contacts', id: null });
    expect(parentRoute(parseRoute('#/leads/new'))).toMatchObject({ section: 'leads', form: null });
  });
});
