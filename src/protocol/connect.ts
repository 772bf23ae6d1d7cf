/** CONNECT options a client may send (nats-server `clientOpts`). */
export interface ConnectOptions {
  verbose: boolean;
  pedantic: boolean;
  echo: boolean;
  headers: boolean;
  no_responders: boolean;
  name: string;
  lang: string;
  version: string;
  protocol: number;
}

/**
 * What a connection has before its first CONNECT: nats-server's `defaultOpts` (verbose and
 * pedantic on), so a client that sends SUB or PUB before CONNECT gets `+OK` after each.
 */
export const DEFAULT_CONNECT: ConnectOptions = {
  verbose: true,
  pedantic: true,
  echo: true,
  headers: false,
  no_responders: false,
  name: "",
  lang: "",
  version: "",
  protocol: 0,
};

/** Credentials a client may send in CONNECT (user/password, token, nkey and its signature of the nonce). */
export interface ConnectCredentials {
  user?: string;
  pass?: string;
  auth_token?: string;
  nkey?: string;
  sig?: string;
}

/** A parsed CONNECT: options, credentials, and the account fields nats-server refuses. */
export interface ParsedConnect {
  opts: ConnectOptions;
  creds: ConnectCredentials;
  /** `account` and `new_account`: nats-server 2.9 answers Authorization Violation to either (see accountRequested). */
  account: string;
  newAccount: boolean;
}

/** Did the client ask for an account? nats-server 2.9 no longer allows it and refuses the connection. */
export function accountRequested(c: ParsedConnect): boolean {
  return c.account !== "" || c.newAccount;
}

/** The state of a connection that has sent no CONNECT yet. */
export const NO_CONNECT: ParsedConnect = { opts: DEFAULT_CONNECT, creds: {}, account: "", newAccount: false };

/** Highest client protocol version a client may announce (nats-server ClientProtoInfo). */
export const MAX_CLIENT_PROTOCOL = 1;

/**
 * The fields of nats-server 2.9's `ClientOpts` and the JSON type each must have. A CONNECT whose
 * field has another type fails Go's json.Unmarshal, and nats-server closes the connection without an
 * -ERR; `null` leaves a field at its default, unknown fields are ignored.
 */
const FIELD_KINDS: Record<string, "bool" | "string" | "int" | "permission"> = {
  echo: "bool",
  verbose: "bool",
  pedantic: "bool",
  tls_required: "bool",
  nkey: "string",
  jwt: "string",
  sig: "string",
  auth_token: "string",
  user: "string",
  pass: "string",
  name: "string",
  lang: "string",
  version: "string",
  protocol: "int",
  account: "string",
  new_account: "bool",
  headers: "bool",
  no_responders: "bool",
  import: "permission",
  export: "permission",
};

const isStringArray = (v: unknown): boolean => v === null || (Array.isArray(v) && v.every((x) => typeof x === "string"));

function fitsKind(v: unknown, kind: (typeof FIELD_KINDS)[string]): boolean {
  if (v === null) return true;
  switch (kind) {
    case "bool":
      return typeof v === "boolean";
    case "string":
      return typeof v === "string";
    case "int":
      // Go's int is 64 bits; JSON.parse cannot tell 1.0 from 1, so those pass as 1.
      return typeof v === "number" && Number.isInteger(v) && Math.abs(v) < 2 ** 63;
    case "permission": {
      if (typeof v !== "object" || Array.isArray(v)) return false;
      const p = v as Record<string, unknown>;
      return isStringArray(p["allow"] ?? null) && isStringArray(p["deny"] ?? null);
    }
  }
}

/**
 * Parse CONNECT's JSON as nats-server decodes it into the connection's `ClientOpts`: keys match
 * field names without regard to case (Go's rule), each field must have its Go type, and a field
 * the JSON leaves out (or sets to null) keeps the value it had in `prev`: a second CONNECT changes
 * only what it names, as Go's json.Unmarshal into the same struct does. Returns "unparsable" where
 * Go's decoder fails (nats-server then closes without an -ERR). The protocol number is checked by
 * the caller, after authentication, as nats-server does.
 */
export function parseConnect(json: string, prev: ParsedConnect = NO_CONNECT): ParsedConnect | "unparsable" {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return "unparsable";
  }
  // Go decodes `null` into a struct as "nothing to set": every option keeps its value.
  if (parsed === null) parsed = {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) return "unparsable";
  const o: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(parsed as Record<string, unknown>)) {
    const field = key in FIELD_KINDS ? key : key.toLowerCase();
    const kind = FIELD_KINDS[field];
    if (kind === undefined) continue;
    if (!fitsKind(v, kind)) return "unparsable";
    if (v !== null) o[field] = v;
  }
  const p = prev.opts;
  const bool = (k: string, d: boolean): boolean => (typeof o[k] === "boolean" ? (o[k] as boolean) : d);
  const str = (k: string): string | undefined => (typeof o[k] === "string" ? (o[k] as string) : undefined);
  const creds: ConnectCredentials = { ...prev.creds };
  for (const k of ["user", "pass", "auth_token", "nkey", "sig"] as const) {
    const v = str(k);
    if (v !== undefined) creds[k] = v;
  }
  return {
    opts: {
      verbose: bool("verbose", p.verbose),
      pedantic: bool("pedantic", p.pedantic),
      echo: bool("echo", p.echo),
      headers: bool("headers", p.headers),
      no_responders: bool("no_responders", p.no_responders),
      name: str("name") ?? p.name,
      lang: str("lang") ?? p.lang,
      version: str("version") ?? p.version,
      protocol: typeof o["protocol"] === "number" ? o["protocol"] : p.protocol,
    },
    creds,
    account: str("account") ?? prev.account,
    newAccount: bool("new_account", prev.newAccount),
  };
}
