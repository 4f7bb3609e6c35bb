import { describe, expect, it } from 'vitest';
import { dampedDistance, defaultPullOptions, PullTracker, pullProgress } from './pull';

describe('pull arithmetic', () => {
  it('follows half the finger and stops at the maximum', () => {
    expect(dampedDistance(-30)).toBe(0);
    expect(dampedDistance(100)).toBe(50);
    expect(dampedDistance(1000)).toBe(defaultPullOptions.max);
  });

  it('reports progress toward the threshold', () => {
    expect(pullProgress(0)).toBe(0);
    expect(pullProgress(defaultPullOptions.threshold / 2)).toBe(0.5);
    expect(pullProgress(500)).toBe(1);
  });
});

describe('PullTracker', () => {
  it('refreshes when released past the threshold at the top of the list', () => {
    const pull = new PullTracker();
    pull.start(100, 0);
    expect(pull.move(200)).toBe(50);
    expect(pull.armed).toBe(false);
    pull.move(260);
    expect(pull.armed).toBe(true);
    expect(pull.pulling).toBe(true);
    expect(pull.end()).toBe(true);
    expect(pull.distance).toBe(0);
  });

  it('does not refresh on a short pull', () => {
    const pull = new PullTracker();
    pull.start(100, 0);
    pull.move(180);
    expect(pull.end()).toBe(false);
  });

  it('ignores a pull that starts with the list scrolled down', () => {
    const pull = new PullTracker();
    pull.start(100, 250);
    expect(pull.move(400)).toBe(0);
    expect(pull.pulling).toBe(false);
    expect(pull.end()).toBe(false);
  });

  it('an upward swipe is a scroll, not a pull', () => {
    const pull = new PullTracker();
    pull.start(400, 0);
    expect(pull.move(100)).toBe(0);
    expect(pull.pulling).toBe(false);
  });

  it('going back up before release cancels the refresh', () => {
    const pull = new PullTracker();
    pull.start(100, 0);
    pull.move(300);
    pull.move(120);
    expect(pull.end()).toBe(false);
  });

  it('cancel forgets the gesture', () => {
    const pull = new PullTracker();
    pull.start(100, 0);
    pull.move(400);
    pull.cancel();
    expect(pull.end()).toBe(false);
  });
});
