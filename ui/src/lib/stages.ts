import type { PicklistEntry } from './types';

export type StepState = 'done' | 'current' | 'future' | 'lost';

export interface PathStep {
  value: string;
  label: string;
  state: StepState;
  closed: boolean;
  won: boolean;
  probability: number | null;
}

/**
 * The stage path: every stage from describe, in order; stages before the current one are done.
 * A stage the describe does not list (renamed since) is shown as current at the end.
 */
export function stagePath(stages: PicklistEntry[], current: string): PathStep[] {
  const index = stages.findIndex((s) => s.value === current);
  const lost = index !== -1 && stages[index].closed === true && stages[index].won !== true;
  const steps: PathStep[] = stages.map((stage, i) => ({
    value: stage.value,
    label: stage.label,
    state: i === index ? (lost ? 'lost' : 'current') : index !== -1 && i < index && !stage.closed ? 'done' : 'future',
    closed: stage.closed === true,
    won: stage.won === true,
    probability: stage.probability ?? null,
  }));
  if (index === -1 && current) {
    steps.push({ value: current, label: current, state: 'current', closed: false, won: false, probability: null });
  }
  return steps;
}

/** Moving to a closed stage asks first (it ends the deal). */
export function needsConfirmation(step: PathStep): boolean {
  return step.closed;
}
