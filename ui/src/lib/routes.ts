/**
 * Hash routes (`#/contacts/003…/log-call`): the URL says where the rep is, so back/forward,
 * Android's back button and a restart land there again. Pure functions, tested.
 */
export type Section = 'contacts' | 'accounts' | 'opportunities' | 'leads' | 'search' | 'pending' | 'settings';
export type Form = 'log-call' | 'new-task' | 'edit' | 'new-lead';

export interface Route {
  section: Section;
  /** The selected record (or pending write key). */
  id: string | null;
  form: Form | null;
  /** `#/search?q=…`. */
  q: string;
}

const sections: Section[] = ['contacts', 'accounts', 'opportunities', 'leads', 'search', 'pending', 'settings'];
const forms: Form[] = ['log-call', 'new-task', 'edit'];

export const home: Route = { section: 'contacts', id: null, form: null, q: '' };

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const [path, queryString = ''] = raw.split('?', 2);
  const parts = path.split('/').filter(Boolean).map(safeDecode);
  const q = new URLSearchParams(queryString).get('q') ?? '';
  const section = parts[0] as Section;
  if (!sections.includes(section)) return { ...home };
  if (section === 'leads' && parts[1] === 'new') return { section, id: null, form: 'new-lead', q: '' };
  const id = parts[1] ?? null;
  const form = id && forms.includes(parts[2] as Form) ? (parts[2] as Form) : null;
  return { section, id, form, q: section === 'search' ? q : '' };
}

export function routeHash(route: Partial<Route> & { section: Section }): string {
  if (route.form === 'new-lead') return '#/leads/new';
  let hash = `#/${route.section}`;
  if (route.id) hash += `/${encodeURIComponent(route.id)}`;
  if (route.id && route.form) hash += `/${route.form}`;
  if (route.section === 'search' && route.q) hash += `?q=${encodeURIComponent(route.q)}`;
  return hash;
}

/** Where a record of this Salesforce object (or key prefix) opens. */
export function recordSection(objectOrId: string): Section {
  const object = objectOrId.startsWith('local-') ? objectOrId.split('-')[1] : objectOrId;
  switch (object) {
    case 'Contact':
    case '003':
      return 'contacts';
    case 'Account':
    case '001':
      return 'accounts';
    case 'Opportunity':
    case '006':
      return 'opportunities';
    case 'Lead':
    case '00Q':
      return 'leads';
    default:
      return objectOrId.length >= 3 && !objectOrId.startsWith('local-')
        ? recordSection(objectOrId.slice(0, 3))
        : 'contacts';
  }
}

export function recordHash(objectOrId: string, id: string): string {
  return routeHash({ section: recordSection(objectOrId), id });
}

/** The tab or sidebar entry a route belongs to. */
export function navSection(route: Route): 'contacts' | 'opportunities' | 'leads' | 'pending' | 'search' | 'settings' {
  return route.section === 'accounts' ? 'contacts' : route.section;
}

/** Where "back" / Esc goes from a route: the form closes to its record, a record to its list. */
export function parentRoute(route: Route): Route {
  if (route.form === 'new-lead') return { section: 'leads', id: null, form: null, q: '' };
  if (route.form) return { ...route, form: null };
  if (route.id) return { ...route, id: null, section: route.section === 'accounts' ? 'contacts' : route.section };
  return route;
}

/** Two routes show the same screen (focus moves to the heading only when this changes). */
export function sameScreen(a: Route, b: Route): boolean {
  return a.section === b.section && a.id === b.id && a.form === b.form;
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
