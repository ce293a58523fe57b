// Just enough DER to issue the sandbox's X.509 v3 certificates (RFC 5280) with ECDSA P-256 keys from node:crypto:
// building and signing one takes well under a millisecond, where RSA key generation plus node-forge took a second of
// main-thread CPU at every start.
import { createHash, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

// --- DER encoding (X.690) ---

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

const sequence = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const octetString = (content: Buffer) => tlv(0x04, content);
const bitString = (content: Buffer, unusedBits = 0) => tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), content]));
const utf8String = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const TRUE = Buffer.from([0x01, 0x01, 0xff]);
/** [n] EXPLICIT: a constructed context-specific tag around a complete encoding. */
const explicit = (n: number, inner: Buffer) => tlv(0xa0 | n, inner);

/** A non-negative INTEGER from big-endian bytes, in DER's minimal two's-complement form. */
function integer(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0 && bytes[i + 1] < 0x80) i++;
  const v = bytes.subarray(i);
  return tlv(0x02, v[0] >= 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const arc of rest) {
    const groups = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift(0x80 | (v & 0x7f));
    out.push(...groups);
  }
  return tlv(0x06, Buffer.from(out));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, always in seconds and Z. */
function time(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z';
  const year = d.getUTCFullYear();
  return year >= 1950 && year < 2050 ? tlv(0x17, Buffer.from(digits.slice(2))) : tlv(0x18, Buffer.from(digits));
}

/** A named BIT STRING (keyUsage): DER drops trailing zero bits and counts them as unused. */
function namedBits(bits: number[]): Buffer {
  const last = Math.max(...bits);
  const bytes = Buffer.alloc((last >> 3) + 1);
  for (const b of bits) bytes[b >> 3] |= 0x80 >> (b & 7);
  return bitString(bytes, 7 - (last & 7));
}

// --- Reading a DER element (just enough to find the key in a SubjectPublicKeyInfo) ---

/** The element starting at `at`: where its content starts and where it ends. */
function element(der: Buffer, at: number): { start: number; end: number } {
  let length = der[at + 1];
  let start = at + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[start + i];
    start += n;
  }
  return { start, end: start + length };
}

/** The subjectPublicKey BIT STRING's bits (without the unused-bits byte) of a DER SubjectPublicKeyInfo. */
function subjectPublicKey(spki: Buffer): Buffer {
  const outer = element(spki, 0);
  const algorithm = element(spki, outer.start);
  if (spki[algorithm.end] !== 0x03) throw new Error('SubjectPublicKeyInfo without a BIT STRING key');
  const key = element(spki, algorithm.end);
  return spki.subarray(key.start + 1, key.end);
}

/** RFC 5280 §4.2.1.2 method 1: the SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(publicKey: KeyObject): Buffer {
  return createHash('sha1')
    .update(subjectPublicKey(publicKey.export({ type: 'spki', format: 'der' })))
    .digest();
}

// --- Certificates ---

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

// RFC 5758 §3.2: ecdsa-with-SHA256 has no parameters (not even NULL).
const ECDSA_WITH_SHA256 = sequence(oid(OID.ecdsaWithSha256));

const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 };

const name = (commonName: string) => sequence(set(sequence(oid(OID.commonName), utf8String(commonName))));

function extension(id: string, value: Buffer, critical = false): Buffer {
  return sequence(oid(id), ...(critical ? [TRUE] : []), octetString(value));
}

/** GeneralName for a host: iPAddress [7] (4 or 16 bytes) for an IP literal, dNSName [2] otherwise. */
function generalName(host: string): Buffer {
  const family = isIP(host);
  if (family === 4) return tlv(0x87, Buffer.from(host.split('.').map(Number)));
  if (family === 6) return tlv(0x87, ipv6Bytes(host));
  return tlv(0x82, Buffer.from(host, 'ascii'));
}

function ipv6Bytes(address: string): Buffer {
  if (address.includes('%')) throw new Error(`a zoned IPv6 address cannot be in a certificate: ${address}`);
  const out = Buffer.alloc(16);
  const words = (part: string): number[] => {
    if (part === '') return [];
    const groups = part.split(':');
    const last = groups[groups.length - 1];
    // An embedded IPv4 address (::ffff:1.2.3.4) is the last two words.
    if (last.includes('.')) {
      const [a, b, c, d] = last.split('.').map(Number);
      groups.splice(-1, 1, ((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
    }
    return groups.map((g) => parseInt(g, 16));
  };
  const [head, tail] = address.split('::');
  const front = words(head);
  const back = tail === undefined ? [] : words(tail);
  const all = [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  all.forEach((w, i) => out.writeUInt16BE(w, 2 * i));
  return out;
}

export interface CertificateSpec {
  /** Subject commonName. */
  subject: string;
  /** Issuer commonName: the issuing CA's subject (the same as `subject` for a self-signed CA). */
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  /** The certified (subject's) public key. */
  publicKey: KeyObject;
  /** The issuer's EC private key, which signs. */
  signingKey: KeyObject;
  /** The issuer's public key, for authorityKeyIdentifier; omitted for a self-signed CA (RFC 5280 §4.2.1.1). */
  issuerPublicKey?: KeyObject;
  /** A CA (may sign certificates) or a TLS server certificate. */
  ca: boolean;
  /** Server certificates: DNS names and IPv4/IPv6 literals for subjectAltName. */
  altNames?: string[];
}

/** A DER X.509 v3 certificate signed with ecdsa-with-SHA256. */
export function createCertificate(spec: CertificateSpec): Buffer {
  if (spec.signingKey.asymmetricKeyType !== 'ec') throw new Error('createCertificate signs with EC keys only');
  // Positive, 16 bytes, and no leading zero byte, so DER keeps all 128 random-ish bits (RFC 5280: at most 20 octets).
  const serial = randomBytes(16);
  serial[0] = (serial[0] & 0x7f) | 0x40;

  const extensions = spec.ca
    ? [
        extension(OID.basicConstraints, sequence(TRUE), true),
        extension(
          OID.keyUsage,
          namedBits([KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]),
          true,
        ),
      ]
    : [
        // cA FALSE is DEFAULT, so DER leaves it out: an empty SEQUENCE.
        extension(OID.basicConstraints, sequence()),
        // digitalSignature only: keyEncipherment is for RSA key transport, which an EC key cannot do.
        extension(OID.keyUsage, namedBits([KEY_USAGE.digitalSignature]), true),
        extension(OID.extKeyUsage, sequence(oid(OID.serverAuth))),
      ];
  if (spec.altNames?.length)
    extensions.push(extension(OID.subjectAltName, sequence(...spec.altNames.map(generalName))));
  extensions.push(extension(OID.subjectKeyIdentifier, octetString(keyIdentifier(spec.publicKey))));
  if (spec.issuerPublicKey) {
    // keyIdentifier is [0] IMPLICIT OCTET STRING.
    extensions.push(extension(OID.authorityKeyIdentifier, sequence(tlv(0x80, keyIdentifier(spec.issuerPublicKey)))));
  }

  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(serial),
    ECDSA_WITH_SHA256,
    name(spec.issuer),
    sequence(time(spec.notBefore), time(spec.notAfter)),
    name(spec.subject),
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...extensions)),
  );
  // node:crypto's default dsaEncoding is 'der': the ECDSA-Sig-Value X.509 expects.
  const signature = sign('sha256', tbs, spec.signingKey);
  return sequence(tbs, ECDSA_WITH_SHA256, bitString(signature));
}

export function pem(der: Buffer, label = 'CERTIFICATE'): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
