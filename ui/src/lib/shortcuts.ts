export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
}

/** Ctrl+R, Cmd+R (also with Shift) and F5: the keys that would reload a browser refresh the data instead. */
export function isRefreshShortcut(event: KeyLike): boolean {
  if (event.altKey) return false;
  if (event.key === 'F5') return !event.ctrlKey && !event.metaKey;
  return (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'r';
}

/** Ctrl+N / Cmd+N: new lead. */
export function isNewLeadShortcut(event: KeyLike): boolean {
  return (event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === 'n';
}

/** `/` focuses the search box, unless the rep is typing in a field. */
export function isSearchShortcut(event: KeyLike, typing: boolean): boolean {
  return event.key === '/' && !typing && !event.ctrlKey && !event.metaKey && !event.altKey;
}

/** Arrow keys, Home and End move through a list of `count` items; null when the key does not. */
export function moveIndex(key: string, index: number, count: number): number | null {
  if (count === 0) return null;
  switch (key) {
    case 'ArrowDown':
      return Math.min(count - 1, index + 1);
    case 'ArrowUp':
      return Math.max(0, index - 1);
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    default:
      return null;
  }
}
