// A self-signed CA and a serving certificate for 127.0.0.1/localhost, made at start: what a real cluster's
// kubeconfig looks like (certificate-authority-data), without any file outside the sandbox's own folder.
// ECDSA P-256 keys and our own DER encoder (x509.ts) make this a few milliseconds; RSA-2048 keys plus node-forge
// cost about a second of main-thread CPU at every start.
import { generateKeyPairSync } from 'node:crypto';
import { createCertificate, pem } from './x509.js';

export interface TlsMaterial {
  caCert: string;
  cert: string;
  /** The server's private key, PKCS#8 ('PRIVATE KEY'): what Node, Go and OpenSSL all read. */
  key: string;
}

const keyPair = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

export function generateTls(hosts: string[] = ['localhost', '127.0.0.1', '::1']): TlsMaterial {
  const now = Date.now();
  const notBefore = new Date(now - 60_000); // a minute of clock skew
  const notAfter = new Date(now + 365 * 24 * 3600 * 1000);
  const caName = 'kubegraph-sandbox-ca';

  const ca = keyPair();
  const caCert = createCertificate({
    subject: caName,
    issuer: caName,
    notBefore,
    notAfter,
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    ca: true,
  });

  const server = keyPair();
  const cert = createCertificate({
    subject: 'kube-apiserver',
    issuer: caName,
    notBefore,
    notAfter,
    publicKey: server.publicKey,
    signingKey: ca.privateKey,
    issuerPublicKey: ca.publicKey,
    ca: false,
    altNames: [...new Set([...hosts, 'kubernetes.default.svc'])],
  });

  return {
    caCert: pem(caCert),
    cert: pem(cert),
    key: server.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
