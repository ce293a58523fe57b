// Repository credentials at rest: AES-256-GCM with a key derived (HKDF-SHA256) from the configured secret
// (APPS_CREDENTIALS_KEY, else KUBEGRAPH_IDENTITY_SECRET, which every replica already shares). The repository's name
// is the additional authenticated data, so a ciphertext copied onto another row does not decrypt. Stored as
// `v1:<base64 of iv | tag | ciphertext>`; the plaintext is the JSON of { username, password }.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Credentials {
  username: string;
  password: string;
}

export class CredentialsCipher {
  private readonly key: Buffer;

  constructor(secret: string) {
    if (secret.length < 16) throw new Error('the credentials secret must be at least 16 characters');
    this.key = Buffer.from(
      hkdfSync('sha256', secret, 'kubegraph-apps', 'helm repository credentials v1', 32) as ArrayBuffer,
    );
  }

  encrypt(repository: string, credentials: Credentials): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(repository, 'utf8'));
    const sealed = Buffer.concat([cipher.update(JSON.stringify(credentials), 'utf8'), cipher.final()]);
    return 'v1:' + Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64');
  }

  /** Throws when the value was not sealed with this key for this repository. */
  decrypt(repository: string, stored: string): Credentials {
    if (!stored.startsWith('v1:')) throw new Error('unknown credentials format');
    const raw = Buffer.from(stored.slice(3), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(repository, 'utf8'));
    decipher.setAuthTag(raw.subarray(12, 28));
    const plain = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    const v = JSON.parse(plain) as Credentials;
    return { username: String(v.username), password: String(v.password) };
  }
}

/**
 * For one embedded installation (PGlite in a data folder, no APPS_CREDENTIALS_KEY): a random key made once and kept
 * next to the database it protects (credentials.key, mode 0600). `npm start` makes a new identity secret on every
 * run, so sealing with that would leave stored credentials unreadable after a restart. Replicas on a shared database
 * must be given one key instead.
 */
export function localCredentialsKey(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'credentials.key');
  if (!existsSync(path)) writeFileSync(path, randomBytes(32).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return readFileSync(path, 'utf8').trim();
}
