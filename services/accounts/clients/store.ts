// Every SQL statement of accounts, as functions over a Queryable (the pool or a transaction). No rules here:
// the model decides who may do what and calls these inside its transactions.
// One file per part, as the model is split (users, logins and sessions, workspaces, project members, tokens); here
// they are put together, with the settings table that holds the revisions.
import type { Queryable } from './db.js';
import { projectStore } from './store-projects.js';
import { sessionStore } from './store-sessions.js';
import { tokenStore } from './store-tokens.js';
import { userStore } from './store-users.js';
import { workspaceStore } from './store-workspaces.js';

export type { ProjectMembershipRow } from './store-projects.js';
export type { LoginRecordRow, RefreshTokenRow } from './store-sessions.js';
export type { ApiTokenRow, SigningKeyRow } from './store-tokens.js';
export type { UserRow } from './store-users.js';
export type { MemberRow, WorkspaceMembershipRow, WorkspaceRow } from './store-workspaces.js';

const settingsStore = {
  // ---- role-binding revision
  async bumpRevision(q: Queryable): Promise<number> {
    return Number(
      (
        await q.query<{ value: string }>(
          `UPDATE settings SET value = (value::bigint + 1)::text WHERE key = 'bindings_revision' RETURNING value`,
        )
      ).rows[0].value,
    );
  },
  async revision(q: Queryable): Promise<number> {
    return Number(
      (await q.query<{ value: string }>(`SELECT value FROM settings WHERE key = 'bindings_revision'`)).rows[0]?.value ??
        0,
    );
  },
  async getSetting(q: Queryable, key: string): Promise<string | undefined> {
    return (await q.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key])).rows[0]?.value;
  },
  /** Sets a setting only when absent; true when this call set it. */
  async claimSetting(q: Queryable, key: string, value: string): Promise<boolean> {
    return (
      (await q.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]))
        .rowCount > 0
    );
  },
};

export const store = {
  ...userStore,
  ...sessionStore,
  ...workspaceStore,
  ...projectStore,
  ...tokenStore,
  ...settingsStore,
};
