import { describe, expect, it } from 'vitest';
import { stagePath } from './stages';
import { defaultPicklists } from './backend';

const stages = defaultPicklists['Opportunity.StageName'];

describe('stage path', () => {
  it('marks the stages before the current one done and the rest future', () => {
    const path = stagePath(stages, 'Value Proposition');
    expect(path.map((s) => s.state).slice(0, 5)).toEqual(['done', 'done', 'done', 'current', 'future']);
    expect(path.filter((s) => s.state === 'current')).toHaveLength(1);
    expect(path.at(-1)).toMatchObject({ value: 'Closed Lost', state: 'future', closed: true });
  });

  it('shows a lost deal as lost, and keeps a stage describe no longer lists', () => {
    expect(stagePath(stages, 'Closed Lost').at(-1)?.state).toBe('lost');
    const path = stagePath(stages, 'Renamed Stage');
    expect(path.at(-1)).toMatchObject({ value: 'Renamed Stage', state: 'current' });
  });
});
