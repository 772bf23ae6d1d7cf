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

/** Parse CONNECT's JSON; null when it is not a JSON object (nats-server then closes without -ERR). */
export function parseConnect(json: string): ParsedConnect | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return null;
  const o = parsed as Record<string, unknown>;
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
      protocol: typeof o["protocol"] === "number" ? (o["protocol"] as number) : 0,
    },
    creds,
  };
}
