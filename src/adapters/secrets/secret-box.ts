import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Envelope encryption for secrets the control plane must keep (island JWT keys, SSH keys): AES-256-GCM
 * under a key from configuration. Each sealed value names the key it was sealed with (first 8 bytes of
 * the key's SHA-256), so a rotation can add a new current key and keep old ones for opening until every
 * value was re-sealed. The `context` (e.g. "island:tight-1:jwt") is authenticated, so a sealed value
 * copied into another row does not open there.
 */
const VERSION = 1;
const KEY_ID_BYTES = 8;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

function keyId(key: Buffer): Buffer {
  return createHash('sha256').update(key).digest().subarray(0, KEY_ID_BYTES);
}

export class SecretBox {
  private readonly current: { id: Buffer; key: Buffer };
  private readonly byId = new Map<string, Buffer>();

  /** `keys[0]` seals; every key opens what it sealed. Each key is exactly 32 bytes. */
  constructor(keys: Buffer[]) {
    if (keys.length === 0) throw new SecretBoxError('at least one 32-byte key is required');
    for (const key of keys) {
      if (key.length !== 32) throw new SecretBoxError(`a key must be 32 bytes, got ${key.length}`);
      this.byId.set(keyId(key).toString('hex'), key);
    }
    this.current = { id: keyId(keys[0]), key: keys[0] };
  }

  seal(plaintext: Buffer, context: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.of(VERSION), this.current.id, iv, cipher.getAuthTag(), body]);
  }

  open(sealed: Buffer, context: string): Buffer {
    const header = 1 + KEY_ID_BYTES + IV_BYTES + TAG_BYTES;
    if (sealed.length < header || sealed[0] !== VERSION) throw new SecretBoxError('not a sealed secret of a known version');
    const id = sealed.subarray(1, 1 + KEY_ID_BYTES).toString('hex');
    const key = this.byId.get(id);
    if (!key) throw new SecretBoxError(`sealed with key ${id}, which is not configured`);
    const iv = sealed.subarray(1 + KEY_ID_BYTES, 1 + KEY_ID_BYTES + IV_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(sealed.subarray(1 + KEY_ID_BYTES + IV_BYTES, header));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(header)), decipher.final()]);
    } catch {
      throw new SecretBoxError('sealed secret failed authentication (wrong key, context or tampered)');
    }
  }

  /** True when the value was sealed with an older key and should be re-sealed. */
  isStale(sealed: Buffer): boolean {
    return !sealed.subarray(1, 1 + KEY_ID_BYTES).equals(this.current.id);
  }
}
