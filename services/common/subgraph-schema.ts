// A subgraph's executable schema: what @apollo/subgraph's buildSubgraphSchema makes, without redoing its federation
// checks at every start. buildSubgraphSchema expands the SDL with federation's definitions, validates it (most of its
// cost: about 30 ms of CPU per subgraph, on the critical path of each start; issue 19 §4), prints the expanded
// schema (what `_service { sdl }` answers), and builds the executable schema from that print. The expanded SDL is a
// pure function of the SDL and of the packages' versions, so outside production it is kept in
// node_modules/.cache/kubegraph/subgraph-sdl/ (by a hash of all of them) and the next start builds from it with
// graphql-js alone, adding the resolvers as buildSubgraphSchema does (the same functions of @apollo/subgraph). An SDL
// not seen before, or one whose shortcut would not give the same schema (checked when it is first kept), takes
// buildSubgraphSchema itself, errors and all. test/unit-subgraph-schema.test.ts compares both paths on every subgraph.
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { buildSubgraphSchema } from '@apollo/subgraph';
// Not in @apollo/subgraph's index, and the functions buildSubgraphSchema uses (2.14): the package has no exports
// map, and the comparison test fails if a later version changes what they do.
import { addResolversToSchema } from '@apollo/subgraph/dist/schema-helper/index.js';
import { entitiesResolver } from '@apollo/subgraph/dist/types.js';
import {
  buildASTSchema,
  parse,
  printSchema,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type DocumentNode,
} from 'graphql';
import { isProduction } from './config.js';

/** A subgraph's resolvers, as buildSubgraphSchema takes them (typed by subgraph-server.ts). */
type Resolvers = Parameters<typeof addResolversToSchema>[1];

const PACKAGES = ['@apollo/subgraph', '@apollo/federation-internals', 'graphql'];

/** node_modules/.cache/kubegraph/subgraph-sdl, and the packages' versions; undefined where it cannot be located. */
function cacheOf(): { dir: string; versions: string } | undefined {
  try {
    const require = createRequire(import.meta.url);
    const versions = PACKAGES.map((p) => {
      const pkg = JSON.parse(readFileSync(require.resolve(`${p}/package.json`), 'utf8')) as { version: string };
      return `${p}@${pkg.version}`;
    }).join(' ');
    const manifest = require.resolve('@apollo/subgraph/package.json');
    const at = manifest.lastIndexOf('/node_modules/');
    if (at < 0) return undefined;
    return {
      dir: join(manifest.slice(0, at + '/node_modules'.length), '.cache', 'kubegraph', 'subgraph-sdl'),
      versions,
    };
  } catch {
    return undefined;
  }
}

let cache: { dir: string; versions: string } | undefined | null = null;
/** The schemas built from a kept expanded SDL (for tests: which path a schema took). */
const fromKept = new WeakSet<GraphQLSchema>();

/** Whether `schema` was built from a kept expanded SDL rather than by buildSubgraphSchema. */
export const builtFromKeptSdl = (schema: GraphQLSchema): boolean => fromKept.has(schema);

/** The executable schema of the subgraph SDL `sdl` with `resolvers`, the same as buildSubgraphSchema's. */
export function subgraphSchema(sdl: string, resolvers: Resolvers): GraphQLSchema {
  if (cache === null) cache = isProduction() ? undefined : cacheOf();
  const file = cache
    ? join(cache.dir, `${createHash('sha256').update(`${cache.versions}\n${sdl}`).digest('hex').slice(0, 32)}.graphql`)
    : undefined;
  let expanded: string | undefined;
  try {
    if (file) expanded = readFileSync(file, 'utf8');
  } catch {
    // Not kept yet.
  }
  if (expanded !== undefined) {
    try {
      const schema = fromExpanded(expanded, resolvers);
      fromKept.add(schema);
      return schema;
    } catch {
      // A kept file that does not build (edited by hand, a disk error): the long way, which keeps it again.
    }
  }

  const typeDefs: DocumentNode = parse(sdl);
  const schema = buildSubgraphSchema([{ typeDefs, resolvers }]);
  if (file) keep(file, schema);
  return schema;
}

/** Keeps the expanded SDL of `schema` (buildSubgraphSchema's) when building from it gives the same schema. */
function keep(file: string, schema: GraphQLSchema): void {
  try {
    const service = schema
      .getQueryType()
      ?.getFields()
      ._service?.resolve?.(undefined, {}, undefined, undefined as unknown as GraphQLResolveInfo) as
      { sdl?: string } | undefined;
    const expanded = service?.sdl;
    if (typeof expanded !== 'string') return;
    if (printSchema(fromExpanded(expanded, {})) !== printSchema(schema)) return;
    mkdirSync(dirname(file), { recursive: true });
    // Made aside and renamed into place: another process or thread keeping the same SDL never leaves half a file.
    const tmp = `${file}.${process.pid}-${threadId}-${randomUUID()}`;
    writeFileSync(tmp, expanded);
    renameSync(tmp, file);
    prune(dirname(file));
  } catch {
    // A read-only node_modules: every start takes the long way.
  }
}

/** Most SDLs kept: each edit of a subgraph's schema keeps one more; the oldest go beyond that. */
const KEPT_MAX = 50;

function prune(dir: string): void {
  const kept = readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .map((f) => ({ path: join(dir, f), at: statSync(join(dir, f)).mtimeMs }))
    .sort((a, b) => b.at - a.at);
  for (const old of kept.slice(KEPT_MAX)) rmSync(old.path, { force: true });
}

/** buildSubgraphSchema's steps after its print: the schema from the expanded SDL, then the resolvers. */
function fromExpanded(expanded: string, resolvers: Resolvers): GraphQLSchema {
  // The expanded SDL was validated by buildSubgraph when it was kept.
  const schema = buildASTSchema(parse(expanded), { assumeValidSDL: true });
  const queryRootName = schema.getQueryType()?.name;
  if (!queryRootName) throw new Error('a subgraph schema without a query root type');
  addResolversToSchema(schema, { [queryRootName]: { _service: () => ({ sdl: expanded }) } });
  if (schema.getType('_Entity'))
    addResolversToSchema(schema, {
      [queryRootName]: {
        _entities: (_source: unknown, { representations }: { representations: unknown[] }, context, info) =>
          entitiesResolver({ representations, context, info }),
      },
      _Entity: { __resolveType: (parent: { __typename: string }) => parent.__typename },
    });
  addResolversToSchema(schema, resolvers);
  return schema;
}
