// The sandbox's TLS material (services/sandbox/tls.ts, certificates from our own DER encoder in x509.ts), read back
// by Node's X509Certificate (OpenSSL) and used by a real https server and a client that trusts only the CA.
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { generateTls } from '../services/sandbox/tls.js';

const before = Date.now();
const tls = generateTls();
const ca = new X509Certificate(tls.caCert);
const cert = new X509Certificate(tls.cert);

/** RFC 5280 §4.2.1.2 method 1, computed independently: SHA-1 of the public key bits. */
const keyId = (c: X509Certificate) =>
  createHash('sha1')
    .update(c.publicKey.export({ type: 'spki', format: 'der' }).subarray(-65)) // P-256 point 04||x||y
    .digest();

describe('generateTls', () => {
  it('issues a CA and a server certificate that verifies against it', () => {
    expect(ca.subject).toBe('CN=kubegraph-sandbox-ca');
    expect(ca.issuer).toBe('CN=kubegraph-sandbox-ca');
    expect(ca.ca).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(ca.checkIssued(ca)).toBe(true);

    expect(cert.subject).toBe('CN=kube-apiserver');
    expect(cert.issuer).toBe('CN=kubegraph-sandbox-ca');
    expect(cert.ca).toBe(false);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkIssued(ca)).toBe(true);
    // Not by another CA of the same name.
    expect(cert.verify(new X509Certificate(generateTls().caCert).publicKey)).toBe(false);
  });

  it('uses ECDSA P-256 keys, the server key as PKCS#8 matching the certificate', () => {
    for (const c of [ca, cert]) {
      expect(c.publicKey.asymmetricKeyType).toBe('ec');
      expect(c.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    }
    expect(tls.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(cert.checkPrivateKey(createPrivateKey(tls.key))).toBe(true);
  });

  it('names the given hosts and kubernetes.default.svc, IPv4 and IPv6 as addresses', () => {
    expect(cert.subjectAltName?.split(', ')).toEqual([
      'DNS:localhost',
      'IP Address:127.0.0.1',
      'IP Address:0:0:0:0:0:0:0:1',
      'DNS:kubernetes.default.svc',
    ]);
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkHost('kubernetes.default.svc')).toBe('kubernetes.default.svc');
    expect(cert.checkHost('example.com')).toBeUndefined();
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('::1')).toBe('::1');
    expect(cert.checkIP('10.0.0.1')).toBeUndefined();

    const other = new X509Certificate(generateTls(['10.1.2.3', 'fd00::2:0:0:7', '::ffff:192.0.2.1', 'api.test']).cert);
    expect(other.subjectAltName?.split(', ')).toEqual([
      'IP Address:10.1.2.3',
      'IP Address:FD00:0:0:0:2:0:0:7',
      'IP Address:0:0:0:0:0:FFFF:C000:201',
      'DNS:api.test',
      'DNS:kubernetes.default.svc',
    ]);
    expect(other.checkIP('fd00::2:0:0:7')).toBe('fd00::2:0:0:7');
  });

  it('is valid from a minute ago for a year', () => {
    const notBefore = new Date(cert.validFrom).getTime();
    const notAfter = new Date(cert.validTo).getTime();
    // validFrom/validTo are in whole seconds.
    expect(notBefore).toBeGreaterThanOrEqual(before - 61_000);
    expect(notBefore).toBeLessThanOrEqual(Date.now() - 59_000);
    expect(notAfter - notBefore).toBe(365 * 24 * 3600 * 1000 + 60_000);
    expect([ca.validFrom, ca.validTo]).toEqual([cert.validFrom, cert.validTo]);
  });

  it('links the certificates by key identifier and uses fresh positive serials', () => {
    // Node has no accessor for every extension; the legacy object lists extKeyUsage OIDs.
    const legacy = (c: X509Certificate) => c.toLegacyObject() as unknown as { ext_key_usage?: string[] };
    expect(legacy(cert).ext_key_usage).toEqual(['1.3.6.1.5.5.7.3.1']);
    const caDer = ca.raw;
    const certDer = cert.raw;
    // subjectKeyIdentifier (CA and server) and authorityKeyIdentifier (server): SHA-1 of the public key bits.
    expect(caDer.includes(Buffer.concat([Buffer.from([0x04, 0x14]), keyId(ca)]))).toBe(true);
    expect(certDer.includes(Buffer.concat([Buffer.from([0x04, 0x14]), keyId(cert)]))).toBe(true);
    expect(certDer.includes(Buffer.concat([Buffer.from([0x80, 0x14]), keyId(ca)]))).toBe(true);
    expect(cert.serialNumber).not.toBe(ca.serialNumber);
    expect(cert.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
  });
});

describe('an https server with the material', () => {
  let server: Server;
  afterAll(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

  it('answers a client that trusts only the CA', async () => {
    server = createServer({ key: tls.key, cert: tls.cert }, (_req, res) => res.end('ok'));
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    const get = (trust: string) =>
      new Promise<string>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/', ca: trust, agent: false }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve(body));
        });
        req.on('error', reject);
        req.end();
      });
    expect(await get(tls.caCert)).toBe('ok');
    await expect(get(generateTls().caCert)).rejects.toThrow(/self[- ]signed|unable to verify|signature/i);
  });
});
