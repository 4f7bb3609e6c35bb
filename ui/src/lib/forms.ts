/**
 * The forms' rules, apart from the DOM: what is required, what a field's text becomes in the
 * command, quick picks for dates, and where Salesforce's errors go. A form with an error keeps
 * what the rep typed; errors are per field, keyed by the form's field names.
 */
import type { ContactChanges, JsonValue, NewCall, NewFollowUp, NewLead, OpportunityChanges, WriteKind } from './types';

export type Errors = Record<string, string>;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function trimmed(value: string | null | undefined): string | null {
  const text = (value ?? '').trim();
  return text === '' ? null : text;
}

/** `YYYY-MM-DD` of a local calendar day (never UTC's). */
export function localDate(date: Date): string {
  const y = date.getFullYear();
  const m = String(date.getMonth() + 1).padStart(2, '0');
  const d = String(date.getDate()).padStart(2, '0');
  return `${y}-${m}-${d}`;
}

/** A `YYYY-MM-DD` Salesforce date as the local calendar day (not UTC midnight). */
export function parseLocalDate(text: string): Date | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return null;
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return date.getMonth() === Number(match[2]) - 1 ? date : null;
}

function addDays(date: Date, days: number): Date {
  const next = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  next.setDate(next.getDate() + days);
  return next;
}

/** Due date quick picks: today, tomorrow, next Monday ("next week"), in two weeks. */
export function dueQuickPicks(today: Date): { label: string; value: string }[] {
  const daysToMonday = ((8 - today.getDay()) % 7) || 7;
  return [
    { label: 'Today', value: localDate(today) },
    { label: 'Tomorrow', value: localDate(addDays(today, 1)) },
    { label: 'Next week', value: localDate(addDays(today, daysToMonday)) },
    { label: 'In 2 weeks', value: localDate(addDays(today, 14)) },
  ];
}

export const taskSubjects = ['Follow up', 'Send quote', 'Call back', 'Email', 'Meeting'];
export const callSubjects = ['Call', 'Left voicemail', 'No answer', 'Discovery call'];

// ---------- New lead ----------

export interface LeadFields {
  first_name: string;
  last_name: string;
  company: string;
  title: string;
  email: string;
  phone: string;
  mobile_phone: string;
  lead_source: string;
  status: string;
}

export const emptyLead = (): LeadFields => ({
  first_name: '',
  last_name: '',
  company: '',
  title: '',
  email: '',
  phone: '',
  mobile_phone: '',
  lead_source: '',
  status: '',
});

export function checkLead(fields: LeadFields): Errors {
  const errors: Errors = {};
  if (!trimmed(fields.last_name)) errors.last_name = 'Enter a last name.';
  if (!trimmed(fields.company)) errors.company = 'Enter a company.';
  if (trimmed(fields.email) && !EMAIL.test(fields.email.trim())) errors.email = 'Enter an email like name@example.com.';
  return errors;
}

export function leadPayload(fields: LeadFields): NewLead {
  return {
    first_name: trimmed(fields.first_name),
    last_name: fields.last_name.trim(),
    company: fields.company.trim(),
    title: trimmed(fields.title),
    email: trimmed(fields.email),
    phone: trimmed(fields.phone),
    mobile_phone: trimmed(fields.mobile_phone),
    lead_source: trimmed(fields.lead_source),
    status: trimmed(fields.status),
  };
}

// ---------- Log a call ----------

export interface CallFields {
  subject: string;
  comments: string;
  date: string;
  /** Minutes, as typed; blank when not said. */
  minutes?: string;
  /** A call about an opportunity or account: who it was with (a contact id), blank for no one. */
  contactId?: string;
}

/** The longest call the form takes, in minutes (a day). */
const LONGEST_CALL_MINUTES = 24 * 60;

export function checkCall(fields: CallFields): Errors {
  const errors: Errors = {};
  if (!trimmed(fields.subject)) errors.subject = 'Enter a subject.';
  if (fields.date && !parseLocalDate(fields.date)) errors.date = 'Enter a date.';
  const minutes = trimmed(fields.minutes ?? '');
  if (minutes !== null) {
    const value = Number(minutes);
    if (!Number.isFinite(value) || value < 0) errors.minutes = 'Enter the minutes as a number, like 15.';
    else if (value > LONGEST_CALL_MINUTES) errors.minutes = 'A call of more than a day? Enter the minutes it lasted.';
  }
  return errors;
}

export function callPayload(about: string, fields: CallFields, contactId: string | null = null): NewCall {
  const minutes = trimmed(fields.minutes ?? '');
  return {
    about,
    subject: trimmed(fields.subject),
    comments: trimmed(fields.comments),
    date: trimmed(fields.date),
    duration_seconds: minutes === null ? null : Math.round(Number(minutes) * 60),
    contact_id: contactId ?? trimmed(fields.contactId ?? ''),
  };
}

// ---------- New task ----------

export interface TaskFields {
  subject: string;
  due: string;
  priority: string;
  comments?: string;
}

export function checkTask(fields: TaskFields): Errors {
  const errors: Errors = {};
  if (!trimmed(fields.subject)) errors.subject = 'Enter a subject.';
  if (!trimmed(fields.due)) errors.due = 'Pick a due date.';
  else if (!parseLocalDate(fields.due)) errors.due = 'Enter a date.';
  return errors;
}

export function taskPayload(about: string, fields: TaskFields, contactId: string | null = null): NewFollowUp {
  return {
    about,
    subject: fields.subject.trim(),
    due: fields.due,
    priority: trimmed(fields.priority),
    contact_id: contactId,
  };
}

// ---------- Edit contact ----------

export interface ContactFields {
  phone: string;
  mobile_phone: string;
  email: string;
  title: string;
}

export function checkContact(fields: ContactFields): Errors {
  const errors: Errors = {};
  if (trimmed(fields.email) && !EMAIL.test(fields.email.trim())) errors.email = 'Enter an email like name@example.com.';
  return errors;
}

/** Only what changed; a cleared field is sent as "" (core clears it). */
export function contactChanges(before: ContactFields, after: ContactFields): ContactChanges {
  const changes: ContactChanges = {};
  for (const key of ['phone', 'mobile_phone', 'email', 'title'] as const) {
    if ((before[key] ?? '').trim() !== after[key].trim()) changes[key] = after[key].trim();
  }
  return changes;
}

// ---------- Edit opportunity ----------

export interface OpportunityFields {
  amount: string;
  close_date: string;
  next_step: string;
}

export function parseAmount(text: string): number | null | 'bad' {
  const cleaned = text.replace(/[\s,$€£]/g, '');
  if (cleaned === '') return null;
  const value = Number(cleaned);
  return Number.isFinite(value) && value >= 0 ? value : 'bad';
}

export function checkOpportunity(fields: OpportunityFields): Errors {
  const errors: Errors = {};
  if (parseAmount(fields.amount) === 'bad') errors.amount = 'Enter an amount, like 25000.';
  if (!trimmed(fields.close_date)) errors.close_date = 'Pick a close date.';
  else if (!parseLocalDate(fields.close_date)) errors.close_date = 'Enter a date.';
  return errors;
}

export function opportunityChanges(before: OpportunityFields, after: OpportunityFields): OpportunityChanges {
  const changes: OpportunityChanges = {};
  const amount = parseAmount(after.amount);
  if (before.amount.trim() !== after.amount.trim() && amount !== 'bad' && amount !== null) changes.amount = amount;
  if (before.close_date !== after.close_date) changes.close_date = after.close_date;
  if (before.next_step.trim() !== after.next_step.trim()) changes.next_step = after.next_step.trim();
  return changes;
}

// ---------- Salesforce's errors at the fields (Pending → failed) ----------

/** Salesforce field → form field, per kind of change. */
export const salesforceFields: Record<WriteKind, Record<string, string>> = {
  create_lead: {
    FirstName: 'first_name',
    LastName: 'last_name',
    Company: 'company',
    Title: 'title',
    Email: 'email',
    Phone: 'phone',
    MobilePhone: 'mobile_phone',
    LeadSource: 'lead_source',
    Status: 'status',
  },
  log_call: { Subject: 'subject', Description: 'comments', ActivityDate: 'date' },
  new_task: { Subject: 'subject', Description: 'comments', ActivityDate: 'due', Priority: 'priority' },
  update_opportunity: { StageName: 'stage', Amount: 'amount', CloseDate: 'close_date', NextStep: 'next_step' },
  update_contact: { Phone: 'phone', MobilePhone: 'mobile_phone', Email: 'email', Title: 'title' },
};

/** Human names of Salesforce fields, for the Pending list and conflicts. */
export function fieldLabel(field: string): string {
  const labels: Record<string, string> = {
    StageName: 'Stage',
    CloseDate: 'Close date',
    NextStep: 'Next step',
    MobilePhone: 'Mobile',
    FirstName: 'First name',
    LastName: 'Last name',
    LeadSource: 'Lead source',
    ActivityDate: 'Date',
    Description: 'Comments',
    CallDurationInSeconds: 'Duration (s)',
    ReminderDateTime: 'Reminder',
    IsReminderSet: 'Reminder set',
  };
  return labels[field] ?? field;
}

/** The failed write's fields as the form's text fields. */
export function formFieldsOf(kind: WriteKind, fields: { [key: string]: JsonValue | undefined }): Record<string, string> {
  const map = salesforceFields[kind];
  const out: Record<string, string> = {};
  for (const [sf, form] of Object.entries(map)) {
    const value = fields[sf];
    out[form] = value === null || value === undefined ? '' : String(value);
  }
  return out;
}

/** Salesforce's per-field errors under the form's names; the rest is the form's own message. */
export function errorsAtFields(
  kind: WriteKind,
  error: { message: string; fields?: { [field: string]: string | undefined } } | undefined,
): { fields: Errors; message: string | null } {
  const fields: Errors = {};
  if (!error) return { fields, message: null };
  const map = salesforceFields[kind];
  const unplaced: string[] = [];
  for (const [sf, text] of Object.entries(error.fields ?? {})) {
    if (text === undefined) continue;
    if (map[sf]) fields[map[sf]] = text;
    else unplaced.push(`${fieldLabel(sf)}: ${text}`);
  }
  const message = [error.message, ...unplaced].filter(Boolean).join(' ');
  return { fields, message: message || null };
}

/** What a retry sends: only the fields the rep changed, under Salesforce's names. */
export function retryChanges(
  kind: WriteKind,
  before: Record<string, string>,
  after: Record<string, string>,
): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [sf, form] of Object.entries(salesforceFields[kind])) {
    if ((before[form] ?? '') === (after[form] ?? '')) continue;
    const text = (after[form] ?? '').trim();
    if (sf === 'Amount') {
      const amount = parseAmount(text);
      out[sf] = amount === 'bad' ? text : amount;
    } else out[sf] = text === '' ? null : text;
  }
  return out;
}
