// A self-signed CA and a serving certificate for 127.0.0.1/localhost, made at start: what a real cluster's
// kubeconfig looks like (certificate-authority-data), without any file outside the sandbox's own folder.
import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';

export interface TlsMaterial {
  caCert: string;
  cert: string;
  key: string;
}

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey: forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()),
    publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
  };
}

function serial(): string {
  return '01' + forge.util.bytesToHex(forge.random.getBytesSync(15));
}

type Name = { name: string; value: string }[];

/** A certificate for `publicKey`, valid from a minute ago (clock skew) until `until`, with a fresh serial. */
function newCertificate(publicKey: forge.pki.PublicKey, subject: Name, issuer: Name, now: Date, until: Date) {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = until;
  cert.setSubject(subject);
  cert.setIssuer(issuer);
  return cert;
}

export function generateTls(hosts: string[] = ['localhost', '127.0.0.1', '::1']): TlsMaterial {
  const now = new Date();
  const until = new Date(now.getTime() + 365 * 24 * 3600 * 1000);
  const ca = keyPair();
  const caName = [{ name: 'commonName', value: 'kubegraph-sandbox-ca' }];
  const caCert = newCertificate(ca.publicKey, caName, caName, now, until);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  caCert.sign(ca.privateKey, forge.md.sha256.create());

  const server = keyPair();
  const cert = newCertificate(server.publicKey, [{ name: 'commonName', value: 'kube-apiserver' }], caName, now, until);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...hosts.map((h) => (/^[\d.]+$|:/.test(h) ? { type: 7, ip: h } : { type: 2, value: h })),
        { type: 2, value: 'kubernetes.default.svc' },
      ],
    },
  ]);
  cert.sign(ca.privateKey, forge.md.sha256.create());
  return {
    caCert: forge.pki.certificateToPem(caCert),
    cert: forge.pki.certificateToPem(cert),
    key: forge.pki.privateKeyToPem(server.privateKey),
  };
}
