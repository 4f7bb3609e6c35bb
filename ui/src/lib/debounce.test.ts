import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { debounce } from './debounce';

describe('debounce', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('calls once with the latest value after typing stops', () => {
    const seen: string[] = [];
    const search = debounce((text: string) => seen.push(text), 100);
    search('a');
    vi.advanceTimersByTime(60);
    search('an');
    vi.advanceTimersByTime(60);
    search('ann');
    expect(seen).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(seen).toEqual(['ann']);
  });

  it('flush runs the pending call at once, and only once', () => {
    const seen: string[] = [];
    const search = debounce((text: string) => seen.push(text), 100);
    search('x');
    search.flush();
    vi.advanceTimersByTime(500);
    expect(seen).toEqual(['x']);
    search.flush();
    expect(seen).toEqual(['x']);
  });

  it('cancel drops the pending call', () => {
    const seen: string[] = [];
    const search = debounce((text: string) => seen.push(text), 100);
    search('x');
    search.cancel();
    vi.advanceTimersByTime(500);
    expect(seen).toEqual([]);
  });
});
