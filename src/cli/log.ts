import { openSync, writeSync } from "node:fs";

/** nats-server's log levels, as its lines show them. */
export type LogLevel = "INF" | "WRN" | "ERR" | "DBG" | "TRC";

/** Where the server's lines go: stderr, or the file of `-l`/`log_file` (fd), and whether they carry the time. */
const sink = { fd: -1, logtime: true };

/**
 * Send the log to a file (`-l <file>`, `log_file`), appended and created if missing as nats-server
 * opens it (mode 0660), and/or drop the timestamps (`-T=false`, `logtime: false`). Throws when the
 * file cannot be opened, so the server does not start logging nowhere.
 */
export function configureLog(o: { logFile?: string | undefined; logtime: boolean }): void {
  sink.logtime = o.logtime;
  if (o.logFile !== undefined && o.logFile !== "") sink.fd = openSync(o.logFile, "a", 0o660);
}

const p = (n: number, w = 2): string => String(n).padStart(w, "0");

/**
 * One log line in nats-server's format: `[pid] 2006/01/02 15:04:05.000000 [INF] text` (without the
 * time when logtime is off). Written synchronously, so the last lines before an exit are kept.
 */
export function log(level: LogLevel, text: string): void {
  let line = `[${process.pid}] `;
  if (sink.logtime) {
    const d = new Date();
    line += `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}000 `;
  }
  line += `[${level}] ${text}\n`;
  if (sink.fd >= 0) writeSync(sink.fd, line);
  else process.stderr.write(line);
}
