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
