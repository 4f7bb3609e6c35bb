import { describe, expect, it } from 'vitest';
import { isRefreshShortcut } from './shortcuts';

const key = (key: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean }> = {}) => ({
  key,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  ...mods,
});

describe('isRefreshShortcut', () => {
  it('accepts Ctrl+R, Cmd+R, Ctrl+Shift+R and F5', () => {
    expect(isRefreshShortcut(key('r', { ctrlKey: true }))).toBe(true);
    expect(isRefreshShortcut(key('r', { metaKey: true }))).toBe(true);
    expect(isRefreshShortcut(key('R', { ctrlKey: true }))).toBe(true);
    expect(isRefreshShortcut(key('F5'))).toBe(true);
  });

  it('leaves typing and other shortcuts alone', () => {
    expect(isRefreshShortcut(key('r'))).toBe(false);
    expect(isRefreshShortcut(key('t', { ctrlKey: true }))).toBe(false);
    expect(isRefreshShortcut(key('r', { ctrlKey: true, altKey: true }))).toBe(false);
    expect(isRefreshShortcut(key('F5', { ctrlKey: true }))).toBe(false);
  });
});
