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

/** What a connection has before (or without) a CONNECT: nats-server's defaults. */
export const DEFAULT_CONNECT: ConnectOptions = {
  verbose: false,
  pedantic: false,
  echo: true,
  headers: false,
  no_responders: false,
  name: "",
  lang: "",
  version: "",
  protocol: 0,
};

/** A parsed CONNECT: options and credentials. */
export interface ParsedConnect {
  opts: ConnectOptions;
  creds: { user?: string; pass?: string; auth_token?: string };
}

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
 * Parse CONNECT's JSON as nats-server decodes it into `ClientOpts`: keys match field names without
 * regard to case (Go's rule) and each field must have its Go type. Returns the options, or
 * "unparsable" where Go's decoder fails (nats-server then closes without an -ERR). The protocol
 * number is checked by the caller, after authentication, as nats-server does.
 */
export function parseConnect(json: string): ParsedConnect | "unparsable" {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return "unparsable";
  }
  // Go decodes `null` into a struct as "nothing to set": every option keeps its default.
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
  const protocol = typeof o["protocol"] === "number" ? o["protocol"] : 0;
  const bool = (k: string, d: boolean): boolean => (typeof o[k] === "boolean" ? (o[k] as boolean) : d);
  const str = (k: string): string | undefined => (typeof o[k] === "string" ? (o[k] as string) : undefined);
  const creds: ParsedConnect["creds"] = {};
  const user = str("user");
  const pass = str("pass");
  const token = str("auth_token");
  if (user !== undefined) creds.user = user;
  if (pass !== undefined) creds.pass = pass;
  if (token !== undefined) creds.auth_token = token;
  return {
    opts: {
      // nats-server clientOpts defaults: verbose and pedantic on unless CONNECT says otherwise.
      verbose: bool("verbose", true),
      pedantic: bool("pedantic", true),
      echo: bool("echo", true),
      headers: bool("headers", false),
      no_responders: bool("no_responders", false),
      name: str("name") ?? "",
      lang: str("lang") ?? "",
      version: str("version") ?? "",
      protocol,
    },
    creds,
  };
}
