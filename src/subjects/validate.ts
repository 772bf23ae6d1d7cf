import { Limits } from "../protocol/limits.js";

/**
 * Subject rules of nats-server `server/sublist.go`: tokens separated by `.`, no empty token, no
 * whitespace; `*` matches one token and `>` the rest, each only as a whole token, `>` only last.
 */
export function isValidSubject(subject: string, allowWildcards = true): boolean {
  const n = subject.length;
  if (n === 0) return false;
  let tokenStart = 0;
  let tokens = 0;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? 46 : subject.charCodeAt(i);
    if (c === 46) {
      const tlen = i - tokenStart;
      if (tlen === 0) return false;
      if (++tokens > Limits.maxSubjectTokens) return false;
      if (tlen === 1) {
        const t = subject.charCodeAt(tokenStart);
        if (t === 42 || t === 62) {
          if (!allowWildcards) return false;
          if (t === 62 && i !== n) return false;
        }
      } else if (allowWildcards === false) {
        // literal subjects may contain * or > inside a longer token (nats-server allows it).
      }
      tokenStart = i + 1;
    } else if (c === 32 || c === 9 || c === 13 || c === 10 || c === 12) {
      return false;
    }
  }
  return true;
}

/** A subject with no wildcard tokens, as a publish subject must be. */
export function isValidLiteralSubject(subject: string): boolean {
  return isValidSubject(subject, false);
}

/** True when the subject has a `*` or `>` token. */
export function hasWildcard(subject: string): boolean {
  const n = subject.length;
  for (let i = 0; i < n; i++) {
    const c = subject.charCodeAt(i);
    if ((c === 42 || c === 62) && (i === 0 || subject.charCodeAt(i - 1) === 46) && (i + 1 === n || subject.charCodeAt(i + 1) === 46)) {
      return true;
    }
  }
  return false;
}

/**
 * Does `pattern` (which may hold wildcards) match the literal `subject`? Walks both strings token by
 * token without splitting them: stores call it for every message a wildcard filter scans.
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const pn = pattern.length;
  const sn = subject.length;
  let pi = 0;
  let si = 0; // sn + 1 once the subject has no tokens left
  for (;;) {
    let pe = pattern.indexOf(".", pi);
    if (pe === -1) pe = pn;
    const pl = pe - pi;
    if (pl === 1 && pattern.charCodeAt(pi) === 62) return si <= sn; // `>`: one or more tokens left
    if (si > sn) return false;
    let se = subject.indexOf(".", si);
    if (se === -1) se = sn;
    if (pl !== 1 || pattern.charCodeAt(pi) !== 42) {
      if (se - si !== pl) return false;
      for (let k = 0; k < pl; k++) if (pattern.charCodeAt(pi + k) !== subject.charCodeAt(si + k)) return false;
    }
    if (pe === pn) return se === sn;
    pi = pe + 1;
    si = se === sn ? sn + 1 : se + 1;
  }
}
