// `npm run sandbox`: the sandbox cluster alone.
import { runService } from '../common/config.js';
import { sandboxOptionsFromEnv } from './config.js';
import { startSandbox } from './sandbox.js';

await runService(async () => {
  const sandbox = await startSandbox(sandboxOptionsFromEnv());
  console.log(`sandbox Kubernetes API server listening on ${sandbox.url}`);
  console.log(`kubeconfig written to ${sandbox.kubeconfigPath}`);
  if (sandbox.url.startsWith('http:')) {
    // client-go (kubectl, helm) never sends credentials over plain HTTP: see ServerOptions.anonymousLoopback.
    console.log(
      "plain HTTP: requests from loopback addresses need no token (kubectl and helm send none over http); others need the kubeconfig's token",
    );
  }
  console.log(`try: kubectl --kubeconfig ${sandbox.kubeconfigPath} get pods -A`);
  return sandbox;
});
