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

import { isNewLeadShortcut, isSearchShortcut, moveIndex } from './shortcuts';

describe('more shortcuts', () => {
  const key = (k: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean }> = {}) => ({
    key: k,
    ctrlKey: false,
    metaKey: false,
    altKey: false,
    ...mods,
  });
  it('Ctrl/Cmd+N is new lead, / is search only outside fields', () => {
    expect(isNewLeadShortcut(key('n', { ctrlKey: true }))).toBe(true);
    expect(isNewLeadShortcut(key('N', { metaKey: true }))).toBe(true);
    expect(isNewLeadShortcut(key('n'))).toBe(false);
    expect(isSearchShortcut(key('/'), false)).toBe(true);
    expect(isSearchShortcut(key('/'), true)).toBe(false);
  });
  it('arrows move within the list', () => {
    expect(moveIndex('ArrowDown', -1, 3)).toBe(0);
    expect(moveIndex('ArrowDown', 2, 3)).toBe(2);
    expect(moveIndex('ArrowUp', 0, 3)).toBe(0);
    expect(moveIndex('End', 0, 3)).toBe(2);
    expect(moveIndex('x', 0, 3)).toBeNull();
  });
});
