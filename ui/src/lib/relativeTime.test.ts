import { describe, expect, it } from 'vitest';
import { relativeTime } from './relativeTime';

const now = new Date('2026-11-22T12:00:00Z');
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString();

describe('relativeTime', () => {
  it('reads like a person would say it', () => {
    expect(relativeTime(ago(5), now)).toBe('just now');
    expect(relativeTime(ago(60), now)).toBe('1 minute ago');
    expect(relativeTime(ago(5 * 60 + 59), now)).toBe('5 minutes ago');
    expect(relativeTime(ago(2 * 3600), now)).toBe('2 hours ago');
    expect(relativeTime(ago(26 * 3600), now)).toBe('yesterday');
    expect(relativeTime(ago(3 * 86400), now)).toBe('3 days ago');
  });

  it('gives the date for anything older than a month', () => {
    expect(relativeTime('2026-01-05T09:00:00Z', now)).toBe('Jan 5, 2026');
  });

  it('treats a clock slightly ahead as just now', () => {
    expect(relativeTime(ago(-20), now)).toBe('just now');
  });

  it('accepts RFC 3339 with an offset', () => {
    expect(relativeTime('2026-11-22T13:30:00+02:00', now)).toBe('30 minutes ago');
  });

  it('returns null for what is not a date', () => {
    expect(relativeTime('yesterday-ish', now)).toBeNull();
  });
});
