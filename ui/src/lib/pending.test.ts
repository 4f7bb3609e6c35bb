import { describe, expect, it } from 'vitest';
import { changeSummary, discardSummary, sortPending } from './pending';
import type { PendingWrite } from './types';

const write = (over: Partial<PendingWrite>): PendingWrite =>
  ({
  key: 'k',
  kind: 'log_call',
  object: 'Task',
  record_id: 'local-00T-1',
  record_name: null,
  state: 'waiting',
  fields: {},
  attempts: 0,
  saved_at: '2026-12-01T10:00:00Z',
  ...over,
  }) as PendingWrite;

describe('pending', () => {
  it('puts conflicts and failures first', () => {
    const sorted = sortPending([
      write({ key: 'a', state: 'waiting' }),
      write({ key: 'b', state: 'failed' }),
      write({ key: 'c', state: 'conflict' }),
    ]);
    expect(sorted.map((w) => w.key)).toEqual(['c', 'b', 'a']);
  });

  it('says what each change does and what sign-out discards', () => {
    expect(changeSummary(write({ kind: 'update_opportunity', fields: { StageName: 'Closed Won' } }))).toBe('Stage → Closed Won');
    expect(changeSummary(write({ kind: 'create_lead', fields: { LastName: 'Ng', Company: 'Acme' } }))).toBe('Ng (Acme)');
    expect(discardSummary([write({}), write({}), write({ kind: 'create_lead' })])).toBe('2 × call logged, 1 × new lead');
  });
});
