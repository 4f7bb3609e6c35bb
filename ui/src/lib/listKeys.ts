import { tick } from 'svelte';
import { moveIndex } from './shortcuts';

/**
 * Arrow keys / Home / End move focus through a list's rows (`[data-index]` links inside
 * `container`); Enter opens the focused row (it is a link). A virtual list passes `reveal` to
 * scroll a row that is not rendered yet into view first.
 */
export async function onListKeydown(
  event: KeyboardEvent,
  container: HTMLElement,
  count: number,
  reveal?: (index: number) => void,
): Promise<void> {
  const current = (document.activeElement as HTMLElement | null)?.closest<HTMLElement>('[data-index]');
  const index = current && container.contains(current) ? Number(current.dataset.index) : -1;
  const next = moveIndex(event.key, index, count);
  if (next === null) return;
  event.preventDefault();
  reveal?.(next);
  for (let attempt = 0; attempt < 5; attempt++) {
    await tick();
    const row = container.querySelector<HTMLElement>(`[data-index="${next}"]`);
    if (row) {
      row.focus();
      row.scrollIntoView({ block: 'nearest' });
      return;
    }
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
}
