// What helm's output may not show when it becomes an operation's message: the cluster credentials of the kubeconfig
// kubegraph writes for helm, bearer and basic authorization values, password/token assignments and credentials in URLs.
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { kubeconfigDocument, scrubber } from '../services/apps/clients/helm.js';

const TOKEN = 'sandbox-token-0123456789abcdef';

function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData: 'Q0E=', skipTLSVerify: false }],
    users: [{ name: 'u', token: TOKEN }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

describe('helm output scrubbing', () => {
  const scrub = scrubber(kubeConfig());
  it.each([
    [`Error: Get "https://127.0.0.1:6443/api": token ${TOKEN} refused`, TOKEN],
    ['Authorization: Bearer abc.def.ghi-123', 'abc.def.ghi-123'],
    ['password=hunter2-secret', 'hunter2-secret'],
    ['"token": "tok-999999"', 'tok-999999'],
    ['pulling from https://alice:pa55word@charts.example/index.yaml', 'pa55word'],
  ])('hides the secret in %s', (text, secret) => {
    const out = scrub(text);
    expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
  });

  it('leaves ordinary output as it is', () => {
    const text = 'NAME: web\nSTATUS: deployed\nREVISION: 2\n';
    expect(scrub(text)).toBe(text);
  });

  it('writes a kubeconfig of the current context only, with its credentials, for helm', () => {
    const doc = JSON.parse(kubeconfigDocument(kubeConfig())) as {
      clusters: { cluster: Record<string, unknown> }[];
      users: { user: Record<string, unknown> }[];
      'current-context': string;
    };
    expect(doc.clusters).toEqual([
      { name: 'cluster', cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': 'Q0E=' } },
    ]);
    expect(doc.users).toEqual([{ name: 'user', user: { token: TOKEN } }]);
    expect(doc['current-context']).toBe('kubegraph');
  });
});
