// The shell's command contract (src-tauri/src/commands.rs). Field names are snake_case, as sent.

export interface User {
  user_id: string;
  org_id: string;
  username: string;
  display_name: string;
  email: string | null;
}

export interface AppStatus {
  signed_in: boolean;
  user: User | null;
  /** `null` until the gateway has been tried. */
  online: boolean | null;
  /** RFC 3339. */
  last_synced_at: string | null;
  syncing: boolean;
}

export interface ContactSummary {
  id: string;
  name: string;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  phone: string | null;
  title: string | null;
  account_name: string | null;
}

export interface SyncReport {
  accounts: number;
  contacts: number;
  pages: number;
}

export interface SyncProgress {
  object: string;
  done: number;
  total: number | null;
}

/** Every error that reaches the UI. Show `message`, switch on `kind`. */
export interface AppError {
  kind: string;
  message: string;
}
