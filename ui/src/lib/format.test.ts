import { describe, expect, it } from 'vitest';
import { avatarTone, initials, progressFraction, progressLabel, roleLine } from './format';
import type { ContactSummary } from './types';

// Core sends last_name; older rows had none: the helpers cope with null too.
const contact = (fields: Record<string, unknown>): ContactSummary =>
  ({
  id: '003000000000001AAA',
  name: 'Ana Souza',
  first_name: 'Ana',
  last_name: 'Souza',
  email: null,
  phone: null,
  title: null,
  account_name: null,
  ...fields,
}) as ContactSummary;

describe('contact lines', () => {
  it('joins what is present with a middle dot', () => {
    expect(roleLine(contact({ title: 'CFO', account_name: 'Acme' }))).toBe('CFO · Acme');
    expect(roleLine(contact({ account_name: 'Acme' }))).toBe('Acme');
    expect(roleLine(contact({ title: '  ' }))).toBe('');
  });

  it('makes initials from first and last name, or from the full name', () => {
    expect(initials(contact({}))).toBe('AS');
    expect(initials(contact({ first_name: null, last_name: 'Souza' }))).toBe('S');
    expect(initials(contact({ first_name: null, last_name: null, name: 'Mary Ann de Vries' }))).toBe('MV');
    expect(initials(contact({ first_name: 'élodie', last_name: 'Ørsted' }))).toBe('ÉØ');
    expect(initials(contact({ first_name: null, last_name: null, name: '' }))).toBe('?');
  });

  it('gives one contact the same avatar colour every time', () => {
    const tone = avatarTone('003000000000001AAA');
    expect(avatarTone('003000000000001AAA')).toBe(tone);
    expect(tone).toBeGreaterThanOrEqual(0);
    expect(tone).toBeLessThan(6);
  });
});

describe('progress', () => {
  it('labels known and unknown totals', () => {
    expect(progressLabel({ object: 'Contact', done: 1200, total: 2000 })).toBe('Syncing contacts… 1,200 of 2,000');
    expect(progressLabel({ object: 'Account', done: 40, total: null })).toBe('Syncing accounts… 40');
    expect(progressLabel({ object: 'Widget__c', done: 1, total: null })).toBe('Syncing widget__c… 1');
    expect(progressLabel(null)).toBe('Syncing…');
  });

  it('is indeterminate without a total and clamped with one', () => {
    expect(progressFraction({ object: 'Contact', done: 50, total: 200 })).toBe(0.25);
    expect(progressFraction({ object: 'Contact', done: 300, total: 200 })).toBe(1);
    expect(progressFraction({ object: 'Contact', done: 5, total: null })).toBeNull();
    expect(progressFraction({ object: 'Contact', done: 5, total: 0 })).toBeNull();
  });
});

import { formatAmount, formatBytes, formatDate, pendingLabel, remainingEstimate, telHref } from './format';

describe('more formatting', () => {
  it('shows money, Salesforce dates as local days, sizes and phone links', () => {
    expect(formatAmount(185000)).toBe('$185,000');
    expect(formatAmount(null)).toBe('—');
    expect(formatDate('2026-03-01')).toBe('Mar 1, 2026');
    expect(formatBytes(48_300_000)).toBe('46 MB');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(telHref('+1 (415) 555-0134')).toBe('tel:+14155550134');
    expect(pendingLabel('waiting_for_sign_in')).toBe('Waiting for sign-in');
  });

  it('estimates what is left of a sync from how fast it has gone', () => {
    expect(remainingEstimate({ object: 'Contact', done: 10_000, total: 50_000 }, 30_000)).toBe('about 2 minutes left');
    expect(remainingEstimate({ object: 'Contact', done: 49_900, total: 50_000 }, 30_000)).toBe('almost done');
    expect(remainingEstimate({ object: 'Contact', done: 0, total: 50_000 }, 30_000)).toBeNull();
    expect(remainingEstimate({ object: 'Contact', done: 5, total: null }, 30_000)).toBeNull();
  });
});
