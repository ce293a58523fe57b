// `npm start`: kubegraph for development, in one process. Without a configured cluster (KUBECONFIG unset and not
// running in a pod) it starts the embedded sandbox cluster first, and says so.
import { existsSync } from 'node:fs';
import { runMain, envString } from './common/config.js';
import { sandboxOptionsFromEnv } from './sandbox/config.js';
import { startSandbox } from './sandbox/sandbox.js';

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

await runMain(async () => {
  const kubeconfig = envString('KUBECONFIG');
  if (kubeconfig) {
    console.log(`kubegraph: using the cluster of KUBECONFIG=${kubeconfig}`);
  } else if (existsSync(IN_CLUSTER_TOKEN)) {
    console.log('kubegraph: using the in-cluster service account');
  } else {
    const sandbox = await startSandbox(sandboxOptionsFromEnv());
    process.env.KUBECONFIG = sandbox.kubeconfigPath;
    console.log(`kubegraph: no cluster configured (KUBECONFIG unset): running against the embedded sandbox cluster at ${sandbox.url}`);
    console.log(`kubegraph: sandbox kubeconfig at ${sandbox.kubeconfigPath} (kubectl --kubeconfig ${sandbox.kubeconfigPath} get pods -A)`);
    const stop = async () => {
      await sandbox.close();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  // The GraphQL subgraphs and the gateway start here as they are built (see README "Services").
});
