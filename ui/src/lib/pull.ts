/**
 * Pull-to-refresh arithmetic, kept apart from the DOM so it can be tested.
 * A pull only starts when the list is scrolled to the top; the finger's travel is damped so the
 * indicator moves slower than the finger (as native lists do), and releasing past `threshold`
 * asks for a refresh.
 */
export interface PullOptions {
  /** Distance (after damping) that arms a refresh, in CSS pixels. */
  threshold: number;
  /** The indicator never moves further than this. */
  max: number;
  /** Fraction of the finger's travel the indicator follows. */
  resistance: number;
}

export const defaultPullOptions: PullOptions = { threshold: 72, max: 120, resistance: 0.5 };

/** Indicator distance for a finger that travelled `dy` pixels down. */
export function dampedDistance(dy: number, options: PullOptions = defaultPullOptions): number {
  if (dy <= 0) return 0;
  return Math.min(options.max, dy * options.resistance);
}

/** 0 → 1 as the pull approaches the threshold (for the indicator's rotation and opacity). */
export function pullProgress(distance: number, options: PullOptions = defaultPullOptions): number {
  return Math.max(0, Math.min(1, distance / options.threshold));
}

export class PullTracker {
  private startY: number | null = null;
  private current = 0;

  constructor(private readonly options: PullOptions = defaultPullOptions) {}

  /** A finger went down; only a list at its top can be pulled. */
  start(y: number, scrollTop: number): void {
    this.startY = scrollTop <= 0 ? y : null;
    this.current = 0;
  }

  /** The finger moved; returns the indicator distance (0 when this is not a pull). */
  move(y: number): number {
    if (this.startY === null) return 0;
    this.current = dampedDistance(y - this.startY, this.options);
    return this.current;
  }

  /** True while the finger is pulling the list down (the page should not scroll meanwhile). */
  get pulling(): boolean {
    return this.startY !== null && this.current > 0;
  }

  get distance(): number {
    return this.current;
  }

  get armed(): boolean {
    return this.current >= this.options.threshold;
  }

  /** The finger went up: returns whether to refresh, and resets. */
  end(): boolean {
    const refresh = this.startY !== null && this.armed;
    this.cancel();
    return refresh;
  }

  cancel(): void {
    this.startY = null;
    this.current = 0;
  }
}
