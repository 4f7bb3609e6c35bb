import { describe, expect, it } from 'vitest';
import { SERVER_UNREACHABLE, SIGN_IN_FAILED, signInProblem, syncFailure, toAppError } from './errors';

describe('toAppError', () => {
  it('keeps the shell’s {kind, message}', () => {
    expect(toAppError({ kind: 'offline', message: 'gateway down', extra: 1 })).toEqual({
      kind: 'offline',
      message: 'gateway down',
    });
  });

  it('wraps a thrown Error and a bare string', () => {
    expect(toAppError(new Error('boom'))).toEqual({ kind: 'unknown', message: 'boom' });
    expect(toAppError('command sign_in not found')).toEqual({
      kind: 'unknown',
      message: 'command sign_in not found',
    });
  });

  it('never returns an empty message', () => {
    expect(toAppError(undefined).message).toBe('Something went wrong.');
    expect(toAppError({ kind: 3 }).message).toBe('Something went wrong.');
  });
});

describe('signInProblem', () => {
  it('says the server is unreachable when offline, with no technical detail', () => {
    expect(signInProblem({ kind: 'offline', message: 'error sending request' })).toEqual({
      title: "Can't reach the Companion server.",
      detail: 'Check your connection and try again.',
    });
    expect(SERVER_UNREACHABLE).toBe("Can't reach the Companion server. Check your connection and try again.");
  });

  it('says "Sign-in failed — try again" with the reason underneath otherwise', () => {
    expect(signInProblem({ kind: 'state_mismatch', message: 'The sign-in response does not match.' })).toEqual({
      title: 'Sign-in failed — try again',
      detail: 'The sign-in response does not match.',
    });
    expect(SIGN_IN_FAILED).toBe('Sign-in failed — try again');
  });

  it('does not repeat the headline as the detail', () => {
    expect(signInProblem({ kind: 'sign_in_failed', message: 'Sign-in failed — try again' })).toEqual({
      title: 'Sign-in failed — try again',
      detail: null,
    });
  });
});

describe('syncFailure', () => {
  it('maps kinds to what the screen shows', () => {
    expect(syncFailure({ kind: 'offline', message: '' })).toBe('offline');
    expect(syncFailure({ kind: 'reauth_required', message: '' })).toBe('reauth');
    expect(syncFailure({ kind: 'upstream_unavailable', message: '' })).toBe('other');
  });
});
