import { describe, expect, it } from 'vitest';
import { initialAddress, loginHostChoice, mustChooseServer, serverProblem } from './server';
import type { ServerSetting } from './types';

const none: ServerSetting = { url: null, source: 'none', preset: 'https://companion.acme.example', can_change: true };
const chosen: ServerSetting = { url: 'https://gw.acme.example', source: 'chosen', preset: null, can_change: true };
const fixed: ServerSetting = { url: 'http://127.0.0.1:8710', source: 'fixed', preset: null, can_change: false };

describe('the server on the sign-in screen', () => {
  it('is asked for on a first start, prefilled with the administrator preset', () => {
    expect(mustChooseServer(none, false)).toBe(true);
    expect(initialAddress(none)).toBe('https://companion.acme.example');
  });

  it('is not asked for again once chosen, unless the rep changes it', () => {
    expect(mustChooseServer(chosen, false)).toBe(false);
    expect(mustChooseServer(chosen, true)).toBe(true);
    expect(initialAddress(chosen)).toBe('https://gw.acme.example');
  });

  it('cannot be changed when the app was started with a fixed server', () => {
    expect(mustChooseServer(fixed, true)).toBe(false);
    expect(mustChooseServer(undefined, true)).toBe(false);
    expect(initialAddress(undefined)).toBe('');
  });

  it('names what is wrong with a refused address', () => {
    expect(serverProblem({ kind: 'insecure_url', message: 'http://x is not secure (http://).' })).toEqual({
      title: "That address isn't secure.",
      detail: 'http://x is not secure (http://).',
    });
    expect(serverProblem({ kind: 'not_a_companion_server', message: 'x' }).title).toBe("That isn't a Companion server.");
    expect(serverProblem({ kind: 'unreachable', message: 'x' }).title).toBe('No answer from that address.');
    expect(serverProblem({ kind: 'invalid_url', message: 'x' }).title).toBe("That isn't a server address.");
    expect(serverProblem({ kind: 'internal', message: '' })).toEqual({ title: "Couldn't check the server.", detail: null });
  });

  it('offers a login-host choice only when there is more than one', () => {
    const host = (label: string) => ({ label, url: `https://${label}.example`, authorize_url: `https://${label}.example/a` });
    expect(loginHostChoice([host('login')])).toEqual([]);
    expect(loginHostChoice([host('login'), host('test')]).map((h) => h.label)).toEqual(['login', 'test']);
  });
});
