/**
 * Secrets never reach a log line. Two nets: values under secret-looking keys are replaced whole,
 * and secret-looking text inside strings (bearer tokens, our key formats, PEM private keys,
 * `password=...` pairs, BIP-39-like mnemonics) is masked wherever it appears. Pure.
 */

export const REDACTED = '[REDACTED]';

/** Keys whose values are secrets whatever they hold (matched case-insensitively, `-`/`_` ignored). */
const SECRET_KEY =
  /^(authorization|proxyauthorization|cookie|setcookie|xapikey|apikey|key|token|accesstoken|refreshtoken|idtoken|jointoken|bootstrapadminkey|secret|clientsecret|password|passwd|passphrase|mnemonic|seed|seedphrase|privatekey|privatekeypem|jwt|jwtkey|signature)$/;

export const TEXT_PATTERNS: Array<[RegExp, string | ((...groups: string[]) => string)]> = [
  // PEM blocks of any private key (PKCS#8, RSA, EC, OpenSSH), even truncated at the end.
  [/-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g, REDACTED],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, (_m, scheme) => `${scheme} ${REDACTED}`],
  // Archipelago's own secrets: API keys, admin keys, join tokens.
  [/\b(ak|adm|jt)_[A-Za-z0-9_-]{16,}/g, REDACTED],
  // A run of 12 to 24 lowercase words: the shape of a BIP-39 mnemonic (before the pairs below,
  // which would otherwise mask only its first word).
  [/\b[a-z]{3,8}(?: [a-z]{3,8}){11,23}\b/g, REDACTED],
  // key=value / key: value / "key":"value" for secret-looking keys.
  [
    /\b(api[_-]?key|token|secret|password|passwd|passphrase|mnemonic|private[_-]?key|jwt)("?\s*[:=]\s*"?)([^\s",}&]+)/gi,
    (_m, key, sep) => `${key}${sep}${REDACTED}`,
  ],
];

/**
 * Text none of TEXT_PATTERNS can match: no word any of them starts with, and too few spaces for
 * a mnemonic. Most log text (routes, ids, states) is, and one test is much cheaper than five
 * replacements on every line. Must stay a superset of what the patterns need.
 */
const MAY_HOLD_SECRET = /private key|bearer|basic|\b(?:ak|adm|jt)_|api[_-]?key|token|secret|passw|passphrase|mnemonic|private[_-]?key|jwt/i;
const MNEMONIC_SPACES = 11;

export function mayHoldSecret(text: string): boolean {
  if (MAY_HOLD_SECRET.test(text)) return true;
  let spaces = 0;
  for (let i = text.indexOf(' '); i >= 0 && spaces < MNEMONIC_SPACES; i = text.indexOf(' ', i + 1)) spaces++;
  return spaces >= MNEMONIC_SPACES;
}

export function redactText(text: string): string {
  if (!mayHoldSecret(text)) return text;
  let out = text;
  for (const [pattern, replacement] of TEXT_PATTERNS) out = out.replace(pattern, replacement as string);
  return out;
}

/** Verdicts per key name: log entries reuse a few dozen keys, so each is judged once. */
const keyVerdicts = new Map<string, boolean>();
const KEY_VERDICTS_MAX = 10_000;

function isSecretKey(key: string): boolean {
  let secret = keyVerdicts.get(key);
  if (secret === undefined) {
    secret = SECRET_KEY.test(key.toLowerCase().replace(/[-_]/g, ''));
    if (keyVerdicts.size >= KEY_VERDICTS_MAX) keyVerdicts.clear();
    keyVerdicts.set(key, secret);
  }
  return secret;
}

/** A field replaced whole: a secret-named key holding anything but nothing (null, undefined, ''). */
function isMaskedField(key: string, item: unknown): boolean {
  return isSecretKey(key) && item !== null && item !== undefined && item !== '';
}

/** A copy of `value` with every secret masked; cycles and depth are bounded. */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value) || depth > 8) return '[…]';
  seen.add(value);
  if (value instanceof Error) {
    return { name: value.name, message: redactText(value.message), stack: value.stack ? redactText(value.stack) : undefined };
  }
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = isMaskedField(key, item) ? REDACTED : redact(item, depth + 1, seen);
  }
  return out;
}

/**
 * `redact` for a log entry: the entry itself when it holds only plain values (strings, numbers,
 * booleans: most lines) and none needs masking, so a clean line is not copied; anything nested goes
 * through `redact`. Masks exactly what `redact` masks.
 */
export function redactRecord(entry: Record<string, unknown>): Record<string, unknown> {
  let masked: Record<string, unknown> | null = null;
  for (const key of Object.keys(entry)) {
    const item = entry[key];
    if (item !== null && typeof item === 'object') return redact(entry) as Record<string, unknown>;
    const safe = isMaskedField(key, item) ? REDACTED : typeof item === 'string' ? redactText(item) : item;
    if (safe !== item) (masked ??= { ...entry })[key] = safe;
  }
  return masked ?? entry;
}
