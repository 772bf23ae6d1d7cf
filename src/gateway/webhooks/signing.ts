import { createHmac, randomBytes } from "node:crypto";

/** Standard Webhooks secret prefix (`whsec_<base64>`). */
export const SECRET_PREFIX = "whsec_";
/** Bytes of a generated secret (Standard Webhooks asks for 24 to 64). */
export const SECRET_BYTES = 32;
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;

/** A fresh `whsec_` secret. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString("base64");
}

/** Is `s` a `whsec_` secret whose key is 24..64 bytes of standard base64? */
export function isValidSecret(s: string): boolean {
  if (!s.startsWith(SECRET_PREFIX)) return false;
  const b64 = s.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return false;
  const n = Buffer.from(b64, "base64").length;
  return n >= MIN_SECRET_BYTES && n <= MAX_SECRET_BYTES;
}

/** The HMAC key of a secret: the bytes its base64 part stands for. */
export function secretKey(secret: string): Buffer {
  return Buffer.from(secret.slice(SECRET_PREFIX.length), "base64");
}

/**
 * The `webhook-signature` value per Standard Webhooks: `v1,` and the base64 HMAC-SHA256, keyed by
 * the secret's bytes, of `<webhook-id>.<webhook-timestamp>.<body>` (the body's raw bytes).
 */
export function signWebhook(key: Buffer, id: string, timestampS: number, body: Buffer): string {
  const h = createHmac("sha256", key);
  h.update(`${id}.${timestampS}.`);
  h.update(body);
  return `v1,${h.digest("base64")}`;
}
