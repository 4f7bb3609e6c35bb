import type { PendingWrite, WriteKind } from './types';

const kindLabels: Record<WriteKind, string> = {
  create_lead: 'New lead',
  log_call: 'Call logged',
  new_task: 'New task',
  update_opportunity: 'Opportunity change',
  update_contact: 'Contact change',
};

export function kindLabel(kind: WriteKind): string {
  return kindLabels[kind] ?? kind;
}

/** One line on what a pending change does: "Stage → Negotiation/Review". */
export function changeSummary(write: PendingWrite): string {
  switch (write.kind) {
    case 'create_lead':
      return [write.fields.FirstName, write.fields.LastName, write.fields.Company && `(${write.fields.Company})`]
        .filter(Boolean)
        .join(' ');
    case 'log_call':
    case 'new_task':
      return String(write.fields.Subject ?? '');
    default:
      return Object.entries(write.fields)
        .map(([field, value]) => `${field === 'StageName' ? 'Stage' : field} → ${value === null ? '(empty)' : value}`)
        .join(', ');
  }
}

/** Problems first (the rep must act), then what is on its way, each oldest first. */
export function sortPending(writes: PendingWrite[]): PendingWrite[] {
  const rank = { conflict: 0, failed: 1, waiting_for_sign_in: 2, sending: 3, waiting: 4 } as const;
  return [...writes].sort((a, b) => rank[a.state] - rank[b.state] || a.saved_at.localeCompare(b.saved_at));
}

/** What sign-out would discard, as the rep reads it: "2 new leads, 1 call logged". */
export function discardSummary(writes: PendingWrite[]): string {
  const counts = new Map<string, number>();
  for (const write of writes) counts.set(kindLabel(write.kind), (counts.get(kindLabel(write.kind)) ?? 0) + 1);
  return [...counts].map(([label, count]) => `${count} × ${label.toLowerCase()}`).join(', ');
}
