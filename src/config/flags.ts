/**
 * nats-server's command line, read the way it reads it (Go's `flag` package over the list in
 * nats-server 2.9.10 `server/opts.go` ConfigureOptions): every flag may be written with one dash or
 * two (`-user` = `--user`), a value follows as the next argument or after `=` (`-p 4222`,
 * `-p=4222`), a boolean flag takes a value only after `=` (`-js=false`), `--` ends the flags, and
 * the first argument that is not a flag ends them too (`version` and `help` are commands there).
 * Tools that start nats-server (nats.c's test suite among them) write the single-dash forms.
 */

import { goDurationMs, natsSize } from "./streaming.js";

/**
 * How a flag's value is read: Go's `flag` String, Int/Int64 (ParseInt base 0), Bool or Duration
 * (time.ParseDuration; the value becomes ms), or nats-streaming-server's size (`-mb 1GB`; bytes).
 */
type FlagKind = "string" | "int" | "bool" | "duration" | "size";

/**
 * Every flag of nats-server 2.9.10 by its canonical name (the long one), with its aliases, plus
 * cuebus's own `webhook_allow`. What cuebus does with each is applyFlags's (apply-flags.ts) business.
 */
const FLAGS: ReadonlyArray<{ name: string; aliases: readonly string[]; kind: FlagKind }> = [
  { name: "help", aliases: ["h"], kind: "bool" },
  { name: "version", aliases: ["v"], kind: "bool" },
  { name: "help_tls", aliases: [], kind: "bool" },
  { name: "port", aliases: ["p"], kind: "int" },
  { name: "server_name", aliases: ["n", "name"], kind: "string" },
  { name: "addr", aliases: ["a", "net"], kind: "string" },
  { name: "client_advertise", aliases: [], kind: "string" },
  { name: "debug", aliases: ["D"], kind: "bool" },
  { name: "trace", aliases: ["V"], kind: "bool" },
  { name: "VV", aliases: [], kind: "bool" },
  { name: "DV", aliases: [], kind: "bool" },
  { name: "DVV", aliases: [], kind: "bool" },
  { name: "logtime", aliases: ["T"], kind: "bool" },
  { name: "user", aliases: [], kind: "string" },
  { name: "pass", aliases: [], kind: "string" },
  { name: "auth", aliases: [], kind: "string" },
  { name: "http_port", aliases: ["m"], kind: "int" },
  { name: "https_port", aliases: ["ms"], kind: "int" },
  { name: "config", aliases: ["c"], kind: "string" },
  { name: "t", aliases: [], kind: "bool" },
  { name: "signal", aliases: ["sl"], kind: "string" },
  { name: "pid", aliases: ["P"], kind: "string" },
  { name: "ports_file_dir", aliases: [], kind: "string" },
  { name: "log", aliases: ["l"], kind: "string" },
  { name: "log_size_limit", aliases: [], kind: "int" },
  { name: "syslog", aliases: ["s"], kind: "bool" },
  { name: "remote_syslog", aliases: ["r"], kind: "string" },
  { name: "profile", aliases: [], kind: "int" },
  { name: "routes", aliases: [], kind: "string" },
  { name: "cluster", aliases: ["cluster_listen"], kind: "string" },
  { name: "cluster_advertise", aliases: [], kind: "string" },
  { name: "no_advertise", aliases: [], kind: "bool" },
  { name: "connect_retries", aliases: [], kind: "int" },
  { name: "cluster_name", aliases: [], kind: "string" },
  { name: "tls", aliases: [], kind: "bool" },
  { name: "tlsverify", aliases: [], kind: "bool" },
  { name: "tlscert", aliases: [], kind: "string" },
  { name: "tlskey", aliases: [], kind: "string" },
  { name: "tlscacert", aliases: [], kind: "string" },
  { name: "max_traced_msg_len", aliases: [], kind: "int" },
  { name: "jetstream", aliases: ["js"], kind: "bool" },
  { name: "store_dir", aliases: ["sd"], kind: "string" },
  // cuebus's own.
  { name: "webhook_allow", aliases: [], kind: "string" },
  { name: "http_api_open_to", aliases: [], kind: "string" },
  // nats-streaming-server 0.25.3's (server/conf.go ConfigureOptions), for the NATS Streaming adapter
  // and the nats-streaming-server launcher (apply-flags.ts says what each does).
  { name: "cluster_id", aliases: ["cid"], kind: "string" },
  { name: "store", aliases: ["st"], kind: "string" },
  { name: "dir", aliases: [], kind: "string" },
  { name: "max_channels", aliases: ["mc"], kind: "int" },
  { name: "max_subs", aliases: ["msu"], kind: "int" },
  { name: "max_msgs", aliases: ["mm"], kind: "int" },
  { name: "max_bytes", aliases: ["mb"], kind: "size" },
  { name: "max_age", aliases: ["ma"], kind: "duration" },
  { name: "max_inactivity", aliases: ["mi"], kind: "duration" },
  { name: "hb_interval", aliases: ["hbi"], kind: "duration" },
  { name: "hb_timeout", aliases: ["hbt"], kind: "duration" },
  { name: "hb_fail_count", aliases: ["hbf"], kind: "int" },
  { name: "stan_config", aliases: ["sc"], kind: "string" },
  { name: "stan_debug", aliases: ["SD"], kind: "bool" },
  { name: "stan_trace", aliases: ["SV"], kind: "bool" },
  { name: "SDV", aliases: [], kind: "bool" },
  { name: "file_sync", aliases: [], kind: "bool" },
  { name: "nats_server", aliases: ["ns"], kind: "string" },
  { name: "ft_group", aliases: [], kind: "string" },
  { name: "clustered", aliases: [], kind: "bool" },
  { name: "encrypt", aliases: [], kind: "bool" },
  { name: "replace_durable", aliases: [], kind: "bool" },
];

/** Flag name or alias -> its canonical name and kind. */
const BY_NAME: ReadonlyMap<string, { name: string; kind: FlagKind }> = new Map(
  FLAGS.flatMap((f) => [f.name, ...f.aliases].map((n) => [n, { name: f.name, kind: f.kind }] as const)),
);

/** The command line as read: the config file, and each flag given by its canonical name, in order. */
export interface ScannedFlags {
  config?: string;
  /** `[canonical name, value]`; a boolean's value is `"true"` or `"false"`, an int's in decimal. */
  flags: Array<[string, string]>;
  /** `version` or `help` given as a command after the flags (nats-server's ProcessCommandLineArgs). */
  command?: "version" | "help";
}

/** Go's strconv.ParseBool. */
function goBool(v: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
  return undefined;
}

/** Go's strconv.ParseInt(v, 0, 64): sign, then decimal, `0x`, `0o`, `0b` or a leading-0 octal; `_` between digits. */
function goInt(v: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(v);
  if (m === null) return undefined;
  const body = m[2] as string;
  if (body.includes("__") || body.endsWith("_")) return undefined;
  const digits = body.replaceAll("_", "");
  let n: number;
  if (/^0[xXoObB]/.test(digits)) n = Number(digits.toLowerCase());
  else if (digits.length > 1 && digits.startsWith("0")) n = parseInt(digits, 8);
  else n = Number(digits);
  if (!Number.isSafeInteger(n)) return undefined;
  return m[1] === "-" ? -n : n;
}

/**
 * Read nats-server's command line. Throws with Go's `flag` texts (`flag provided but not defined:
 * -foo`, `flag needs an argument: -p`, `invalid value "x" for flag -p: parse error`) and
 * nats-server's `unrecognized command: "x"`.
 */
export function scanFlags(argv: readonly string[]): ScannedFlags {
  const out: ScannedFlags = { flags: [] };
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] as string;
    // Go: a lone "-" or anything not starting with "-" ends the flags; "--" ends them and is dropped.
    if (arg.length < 2 || arg[0] !== "-") break;
    i++;
    if (arg === "--") break;
    const dashes = arg[1] === "-" ? 2 : 1;
    const body = arg.slice(dashes);
    if (body === "" || body[0] === "-" || body[0] === "=") throw new Error(`bad flag syntax: ${arg}`);
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    let value = eq < 0 ? undefined : body.slice(eq + 1);
    const spec = BY_NAME.get(name);
    if (spec === undefined) throw new Error(`flag provided but not defined: -${name}`);
    if (spec.kind === "bool") {
      if (value === undefined) value = "true";
      const b = goBool(value);
      if (b === undefined) throw new Error(`invalid boolean value "${value}" for -${name}: parse error`);
      value = String(b);
    } else {
      if (value === undefined) {
        if (i >= argv.length) throw new Error(`flag needs an argument: -${name}`);
        value = argv[i++] as string;
      }
      if (spec.kind === "int" || spec.kind === "duration") {
        const n = spec.kind === "int" ? goInt(value) : goDurationMs(value);
        if (n === undefined) throw new Error(`invalid value "${value}" for flag -${name}: parse error`);
        value = String(n);
      } else if (spec.kind === "size") {
        // nats-streaming-server's getBytes, and its words.
        const n = natsSize(value);
        if (n === undefined) throw new Error(`${name} should be a size, got '${value}'`);
        value = String(n);
      }
    }
    if (spec.name === "config" || spec.name === "stan_config") {
      // nats-streaming-server reads -c for the NATS part and -sc for the streaming part; cuebus has
      // one file, whose streaming {} block is the streaming part.
      if (out.config !== undefined && out.config !== value) throw new Error(`-c ${out.config} and -sc ${value}: cuebus reads one configuration file; put the streaming {} block in it`);
      out.config = value;
    } else out.flags.push([spec.name, value]);
  }
  const rest = argv[i];
  if (rest !== undefined) {
    const cmd = rest.toLowerCase();
    if (cmd === "version" || cmd === "help") out.command = cmd;
    else throw new Error(`unrecognized command: "${rest}"`);
  }
  return out;
}
