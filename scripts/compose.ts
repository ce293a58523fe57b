// `npm run compose`: composes schema/*.graphql into schema/supergraph.graphql.
// `npm run compose -- --check`: exits 1 when the checked-in supergraph is stale (or missing), writes nothing.
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { CompositionFailed, supergraphStatus, SUPERGRAPH_PATH } from '../gateway/compose.js';

const check = process.argv.includes('--check');
const file = relative(process.cwd(), SUPERGRAPH_PATH);
try {
  const status = supergraphStatus();
  if (status.upToDate) console.log(`${file} is up to date`);
  else if (check) {
    console.error(
      `${file} is ${status.current === undefined ? 'missing' : 'stale'}: run npm run compose and commit it`,
    );
    process.exit(1);
  } else {
    writeFileSync(SUPERGRAPH_PATH, status.expected);
    console.log(`wrote ${file}`);
  }
} catch (e) {
  if (e instanceof CompositionFailed) {
    console.error(e.message);
    process.exit(1);
  }
  throw e;
}
