// The accounts subgraph server: the shared subgraph bootstrap (common/subgraph-server.ts), the database behind it,
// and the JWKS and internal routes next to /graphql.
import { resolve } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { viewerOf } from '../common/http.js';
import { isAnonymous } from '../common/authz.js';
import { createSubgraphServer, startedSubgraph, type StartedSubgraph } from '../common/subgraph-server.js';
import { createLogger, type Logger } from '../common/log.js';
import { NamespaceTenancy } from '../common/tenancy.js';
import { ACCOUNTS_DEFAULTS } from './config.js';
import { openDb, type Db } from './clients/db.js';
import type { LdapOptions } from './clients/ldap.js';
import { migrate, type Migration } from './clients/migrations.js';
import { createContextBuilder, devIdentity, type AccountsContext, type IdentitySource } from './context.js';
import { AccountsModel, type AccountsSettings } from './model/accounts.js';
import { LdapProvider, LocalPasswords, type IdentityProvider } from './model/providers.js';
import { SigningKeys } from './model/tokens.js';
import { createResolvers } from './resolvers.js';
import { accountsRoutes } from './routes.js';

export const SCHEMA_PATH = resolve(import.meta.dirname, '../../schema/accounts.graphql');

export interface AccountsSubgraphOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** postgres://…; unset: embedded PGlite in dataDir. */
  databaseUrl?: string;
  /** PGlite's folder; unset (and no databaseUrl): an in-memory database. */
  dataDir?: string;
  /** A schema of the database to use instead of public. */
  dbSchema?: string;
  /** An open database to use instead (the caller closes it). */
  db?: Db;
  /** Migrations to apply (tests); default: all of them. */
  migrations?: Migration[];
  settings?: Partial<AccountsSettings>;
  ldap?: LdapOptions;
  /** The bootstrap admin's password on first start; unset: generated and handed to onGeneratedAdminPassword. */
  adminPassword?: string;
  /** Default: printed once on stdout. */
  onGeneratedAdminPassword?: (password: string) => void;
  /** Who asks, made from the model; default: the development identity (until the gateway forwards real ones). */
  identity?: (model: AccountsModel) => IdentitySource;
  internalToken?: string;
  /**
   * The secret of the gateway's identity signature (KUBEGRAPH_IDENTITY_SECRET): GraphQL requests without a valid
   * signed identity are refused with 401 and the viewer is the one the gateway signed (anonymous: none). It takes
   * precedence over `identity`.
   */
  identitySecret?: string;
  trustProxy?: boolean;
  /**
   * The cluster whose namespaces are the projects (a project's workspace is its namespace's label; memberships live
   * on the namespace's uid). Without it, projects and their members cannot be read or changed.
   */
  kubeConfig?: k8s.KubeConfig;
  log?: Logger;
}

/** Started; its baseUrl (http://host:port) is where /.well-known/jwks.json and /internal/* are. */
export type AccountsSubgraph = StartedSubgraph<{ model: AccountsModel; db: Db }>;

export async function startAccountsSubgraph(opts: AccountsSubgraphOptions): Promise<AccountsSubgraph> {
  const log = opts.log ?? createLogger('accounts');
  const settings: AccountsSettings = { ...ACCOUNTS_DEFAULTS, ...opts.settings };
  const db =
    opts.db ??
    (await openDb({
      url: opts.databaseUrl,
      dataDir: opts.databaseUrl ? undefined : opts.dataDir,
      schema: opts.dbSchema,
    }));
  try {
    const { applied, current } = await migrate(db, opts.migrations);
    log.info('accounts database ready', { kind: db.kind, schemaVersion: current, applied });
  } catch (e) {
    if (!opts.db) await db.close().catch(() => {});
    throw e;
  }
  const keys = new SigningKeys(db, settings);
  await keys.init();
  const providers: IdentityProvider[] = [new LocalPasswords(settings.scryptLogN)];
  if (opts.ldap) providers.push(new LdapProvider(opts.ldap));
  const namespaces = opts.kubeConfig ? new NamespaceTenancy(opts.kubeConfig, log) : undefined;
  const model = new AccountsModel(db, settings, keys, providers, log, namespaces);
  if (namespaces) {
    // Memberships die with their namespace, as KubeSphere's RoleBindings inside it do; a relist catches what a
    // watch outage missed. Serialized: each is one short transaction.
    let queue = Promise.resolve();
    const later = (what: string, f: () => Promise<unknown>) => {
      queue = queue.then(f).then(
        () => undefined,
        (e: unknown) => log.error(`project memberships: ${what} failed`, { error: (e as Error).message }),
      );
    };
    namespaces.onDeleted((ns) =>
      later(`dropping those of deleted namespace ${ns.name}`, () => model.projects.namespaceDeleted(ns.name, ns.uid)),
    );
    namespaces.onListed(() => later('reconciling with the cluster', () => model.projects.reconcileProjects()));
    await namespaces.start().catch((e: unknown) =>
      log.warn('namespace watch not started; projects cannot be managed until it is', {
        error: (e as Error).message,
      }),
    );
    await queue;
  }

  const boot = await model.users.bootstrapAdmin(opts.adminPassword);
  if (boot.created)
    log.info('bootstrap platform admin created', {
      username: 'admin',
      passwordFrom: boot.generatedPassword ? 'generated' : 'KUBEGRAPH_ADMIN_PASSWORD',
    });
  if (boot.generatedPassword) {
    // The one place a password is printed: once, on the first start, because nobody else knows it.
    (
      opts.onGeneratedAdminPassword ??
      ((pw) =>
        console.log(
          `kubegraph: bootstrap admin created: username admin, password ${pw} (shown once; set KUBEGRAPH_ADMIN_PASSWORD to choose it)`,
        ))
    )(boot.generatedPassword);
  }

  // Behind the gateway: the identity it signed; an anonymous caller (no token) may still log in.
  const identity: IdentitySource = opts.identitySecret
    ? (req) => {
        const v = viewerOf(req);
        return v && !isAnonymous(v) ? v : null;
      }
    : opts.identity
      ? opts.identity(model)
      : devIdentity;
  const server = await createSubgraphServer<AccountsContext>({
    name: 'accounts',
    schemaPath: SCHEMA_PATH,
    resolvers: createResolvers(model),
    port: opts.port,
    host: opts.host,
    log,
    identitySecret: opts.identitySecret,
    context: createContextBuilder(identity, opts.trustProxy ?? true),
    routes: accountsRoutes(model, { internalToken: opts.internalToken, log }),
    ready: async () => {
      try {
        await db.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    logFields: { database: db.kind },
  }).catch(async (e: unknown) => {
    await namespaces?.stop();
    if (!opts.db) await db.close().catch(() => {});
    throw e;
  });
  return startedSubgraph(server, { model, db }, async () => {
    await namespaces?.stop();
    if (!opts.db) await db.close();
  });
}
