import { describe, expect, it } from 'vitest';
import {
  callPayload,
  checkCall,
  checkLead,
  checkTask,
  contactChanges,
  dueQuickPicks,
  emptyLead,
  errorsAtFields,
  leadPayload,
  localDate,
  opportunityChanges,
  parseLocalDate,
  retryChanges,
} from './forms';

describe('forms', () => {
  it('requires last name and company for a lead, and says so at the fields', () => {
    expect(checkLead(emptyLead())).toEqual({ last_name: 'Enter a last name.', company: 'Enter a company.' });
    const lead = { ...emptyLead(), last_name: ' Ng ', company: 'Acme', email: 'not-an-email' };
    expect(checkLead(lead)).toEqual({ email: 'Enter an email like name@example.com.' });
    expect(leadPayload({ ...lead, email: '' })).toMatchObject({ last_name: 'Ng', company: 'Acme', email: null, first_name: null });
  });

  it('uses local calendar dates for quick picks', () => {
    const wednesday = new Date(2026, 11, 2, 23, 30); // Wed 2 Dec 2026, late evening
    const picks = Object.fromEntries(dueQuickPicks(wednesday).map((p) => [p.label, p.value]));
    expect(picks).toEqual({ Today: '2026-12-02', Tomorrow: '2026-12-03', 'Next week': '2026-12-07', 'In 2 weeks': '2026-12-16' });
    expect(localDate(parseLocalDate('2026-03-01')!)).toBe('2026-03-01');
    expect(parseLocalDate('2026-02-30')).toBeNull();
    expect(checkTask({ subject: '', due: '', priority: '' })).toEqual({ subject: 'Enter a subject.', due: 'Pick a due date.' });
  });

  it('sends only what changed', () => {
    const before = { phone: '1', mobile_phone: '', email: 'a@b.co', title: 'CFO' };
    expect(contactChanges(before, { ...before, phone: '2', title: '' })).toEqual({ phone: '2', title: '' });
    const opp = { amount: '1000', close_date: '2026-01-01', next_step: '' };
    expect(opportunityChanges(opp, { ...opp, amount: '$2,500' })).toEqual({ amount: 2500 });
  });

  it("puts Salesforce's errors at the form's fields", () => {
    const placed = errorsAtFields('create_lead', {
      message: 'Required fields are missing',
      fields: { Email: 'invalid email', OwnerId: 'inactive owner' },
    });
    expect(placed.fields).toEqual({ email: 'invalid email' });
    expect(placed.message).toContain('OwnerId: inactive owner');
    expect(retryChanges('create_lead', { email: 'x', company: 'A' }, { email: 'x@y.io', company: 'A' })).toEqual({ Email: 'x@y.io' });
  });
});

describe('the call form', () => {
  const call = { subject: 'Call', comments: '', date: '2026-12-06' };

  it('takes an optional duration in minutes and sends it in seconds', () => {
    expect(checkCall({ ...call, minutes: '' })).toEqual({});
    expect(callPayload('006A', { ...call, minutes: '' }).duration_seconds).toBeNull();
    expect(checkCall({ ...call, minutes: '12.5' })).toEqual({});
    expect(callPayload('006A', { ...call, minutes: '12.5' }).duration_seconds).toBe(750);
  });

  it('refuses a duration that is not minutes', () => {
    expect(checkCall({ ...call, minutes: 'a while' }).minutes).toBe('Enter the minutes as a number, like 15.');
    expect(checkCall({ ...call, minutes: '-3' }).minutes).toBeDefined();
    expect(checkCall({ ...call, minutes: '5000' }).minutes).toBeDefined();
  });

  it('names the contact picked, or none', () => {
    expect(callPayload('006A', { ...call, contactId: '003B' }).contact_id).toBe('003B');
    expect(callPayload('006A', { ...call, contactId: '' }).contact_id).toBeNull();
    expect(callPayload('003A', call, '003A').contact_id).toBe('003A');
  });
});
