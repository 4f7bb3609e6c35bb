import type { AppError } from './types';

export const SIGN_IN_FAILED = 'Sign-in failed — try again';
const SERVER_UNREACHABLE_TITLE = "Can't reach the Companion server.";
const SERVER_UNREACHABLE_DETAIL = 'Check your connection and try again.';
/** The whole sentence the rep reads (title and detail) when the gateway is unreachable. */
export const SERVER_UNREACHABLE = `${SERVER_UNREACHABLE_TITLE} ${SERVER_UNREACHABLE_DETAIL}`;

/** Whatever a rejected `invoke` or a failed event carries, as `{kind, message}`. */
export function toAppError(value: unknown): AppError {
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (typeof record.kind === 'string' && typeof record.message === 'string') {
      return { kind: record.kind, message: record.message };
    }
    if (value instanceof Error) {
      return { kind: 'unknown', message: value.message };
    }
  }
  if (typeof value === 'string' && value.length > 0) {
    return { kind: 'unknown', message: value };
  }
  return { kind: 'unknown', message: 'Something went wrong.' };
}

/** What the rep reads when a sign-in does not work: a headline and a smaller detail. */
export interface SignInProblem {
  title: string;
  detail: string | null;
}

export function signInProblem(error: AppError): SignInProblem {
  if (error.kind === 'offline') {
    // The transport's own words ("error sending request…") would not help the rep.
    return { title: SERVER_UNREACHABLE_TITLE, detail: SERVER_UNREACHABLE_DETAIL };
  }
  // Core's own message for a refused callback is the headline itself: say it once.
  const detail = error.message.trim();
  return { title: SIGN_IN_FAILED, detail: detail && detail !== SIGN_IN_FAILED ? detail : null };
}

/** How a failed sync changes the screen. */
export type SyncFailure = 'offline' | 'reauth' | 'other';

export function syncFailure(error: AppError): SyncFailure {
  switch (error.kind) {
    case 'offline':
      return 'offline';
    case 'reauth_required':
      return 'reauth';
    default:
      return 'other';
  }
}
