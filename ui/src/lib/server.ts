import type { SignInProblem } from './errors';
import type { AppError, LoginHost, ServerSetting } from './types';

/**
 * The Companion server on the sign-in screen: whether the rep must choose one first, what the
 * address field starts with, what a refused address tells the rep, and whether to offer a
 * choice of Salesforce login hosts.
 */

/** A first start (no server yet), or the rep asked to change it. */
export function mustChooseServer(setting: ServerSetting | null | undefined, changing: boolean): boolean {
  if (!setting) return false; // an older shell: it has its own fixed server
  return setting.url === null || (changing && setting.can_change);
}

/** The address field's first value: the server in use, else the administrator's preset. */
export function initialAddress(setting: ServerSetting | null | undefined): string {
  return setting?.url ?? setting?.preset ?? '';
}

/** What the rep reads when the server check refuses an address. */
export function serverProblem(error: AppError): SignInProblem {
  const detail = error.message.trim() || null;
  switch (error.kind) {
    case 'invalid_url':
      return { title: "That isn't a server address.", detail };
    case 'insecure_url':
      return { title: "That address isn't secure.", detail };
    case 'not_a_companion_server':
      return { title: "That isn't a Companion server.", detail };
    case 'unreachable':
    case 'offline':
      return { title: 'No answer from that address.', detail };
    case 'server_locked':
      return { title: "The server can't be changed now.", detail };
    default:
      return { title: "Couldn't check the server.", detail };
  }
}

/** The login hosts to offer: none when the server allows only one (nothing to choose). */
export function loginHostChoice(hosts: LoginHost[]): LoginHost[] {
  return hosts.length > 1 ? hosts : [];
}
