// `npm run sandbox`: the sandbox cluster alone.
import { runMain } from '../common/config.js';
import { sandboxOptionsFromEnv } from './config.js';
import { startSandbox } from './sandbox.js';

await runMain(async () => {
  const sandbox = await startSandbox(sandboxOptionsFromEnv());
  console.log(`sandbox Kubernetes API server listening on ${sandbox.url}`);
  console.log(`kubeconfig written to ${sandbox.kubeconfigPath}`);
  console.log(`try: kubectl --kubeconfig ${sandbox.kubeconfigPath} get pods -A`);
  const stop = async () => {
    await sandbox.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
});
