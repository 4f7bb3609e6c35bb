import { parentRoute, parseRoute, routeHash, type Route } from './routes';

/**
 * The current hash route as runes state. Navigation goes through `location.hash`, so every move
 * is a history entry (back/forward and Android's back button work) and a restart reopens it.
 */
class Router {
  route: Route = $state(parseRoute(typeof location === 'undefined' ? '' : location.hash));

  constructor() {
    if (typeof window !== 'undefined') {
      window.addEventListener('hashchange', () => {
        this.route = parseRoute(location.hash);
      });
    }
  }

  go(route: Partial<Route> & Pick<Route, 'section'>): void {
    this.open(routeHash(route));
  }

  /** The hash we came from by an in-app move, so "up" can be a real back. */
  private previous: string | null = null;

  open(hash: string): void {
    if (location.hash === hash) return;
    this.previous = location.hash || '#/contacts';
    location.hash = hash;
  }

  /** Replaces the current entry (search text as it is typed, a form that saved). */
  replace(route: Partial<Route> & Pick<Route, 'section'>): void {
    history.replaceState(history.state, '', routeHash(route));
    this.route = parseRoute(location.hash);
  }

  /** Esc / Cancel / Back: to the parent screen. */
  up(): void {
    const parent = routeHash(parentRoute(this.route));
    if (this.previous === parent) {
      this.previous = null;
      history.back();
    } else {
      this.replace(parentRoute(this.route));
    }
  }
}

export const router = new Router();

/** True at 1024 px and wider: sidebar, list and record side by side. */
class Wide {
  value = $state(false);
  constructor() {
    if (typeof window !== 'undefined' && window.matchMedia) {
      const query = window.matchMedia('(min-width: 1024px)');
      this.value = query.matches;
      query.addEventListener('change', (event) => (this.value = event.matches));
    }
  }
}

export const wide = new Wide();
