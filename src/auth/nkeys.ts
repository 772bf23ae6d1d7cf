import { createRequire } from "node:module";

type NkeysModule = typeof import("@nats-io/nkeys");

/**
 * nats-server's nonce: 11 random bytes (`nonceRawLen`, server/nkey.go), sent in INFO as 15
 * characters of unpadded base64url. The client signs these 15 characters.
 */
export const NONCE_RAW_BYTES = 11;

/** An ed25519 signature is 64 bytes; a `sig` longer than its base64 form is refused before decoding. */
const MAX_SIG_CHARS = 128;

/** A public user nkey: `U` and 55 more base32 characters (checksum included). */
const PUBLIC_USER_KEY = /^U[A-Z2-7]{55}$/;

let nkeysLib: NkeysModule | null = null;

/**
 * `@nats-io/nkeys`, loaded the first time a server with nkey users needs it: a server without
 * them (most) does not pay its load time at start-up.
 */
function nkeys(): NkeysModule {
  nkeysLib ??= createRequire(import.meta.url)("@nats-io/nkeys") as NkeysModule;
  return nkeysLib;
}

/** A fresh nonce for one connection's INFO. */
export function newNonce(): string {
  // node:crypto is loaded with the first nonce (a server with nkey users), not at start-up (issue 15).
  return process.getBuiltinModule("node:crypto").randomBytes(NONCE_RAW_BYTES).toString("base64url");
}

/** Is `key` a valid public user nkey (prefix `U`, base32, checksum)? nats-server refuses any other in `users`. */
export function isValidPublicUserKey(key: string): boolean {
  if (!PUBLIC_USER_KEY.test(key)) return false;
  try {
    nkeys().fromPublic(key);
    return true;
  } catch {
    return false;
  }
}

/**
 * Decode `sig` as nats-server does: unpadded base64url first, then padded standard base64.
 * Go's decoders are strict about the alphabet and padding, Buffer's are not, so the shape is
 * checked first.
 */
function decodeSig(sig: string): Buffer | null {
  if (sig.length > MAX_SIG_CHARS) return null;
  if (/^[A-Za-z0-9_-]*$/.test(sig) && sig.length % 4 !== 1) return Buffer.from(sig, "base64url");
  if (/^[A-Za-z0-9+/]*={0,2}$/.test(sig) && sig.length % 4 === 0) return Buffer.from(sig, "base64");
  return null;
}

/**
 * Does `sig` (from CONNECT) hold `nkey`'s ed25519 signature of `nonce` (the INFO nonce's
 * characters)? Checked with `@nats-io/nkeys`, as nats-server checks it with Go's nkeys.
 */
export function verifyNonceSignature(nkey: string, nonce: string, sig: string): boolean {
  const raw = decodeSig(sig);
  if (raw === null) return false;
  try {
    return nkeys().fromPublic(nkey).verify(Buffer.from(nonce, "latin1"), raw);
  } catch {
    // A key that does not decode, or a signature of the wrong length.
    return false;
  }
}
