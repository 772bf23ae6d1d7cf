import { subjectMatches } from "../subjects/validate.js";

/**
 * A subject transform as nats-server's `newTransform` builds one (`server/accounts.go`, 2.9):
 * `src` is a subject that may hold wildcards, `dest` a subject without `*` that ends in `>` when
 * `src` does, and whose tokens may take the subject's `*` tokens by position: `$1` or
 * `{{wildcard(1)}}`. Every `*` of `src` must be used. nats-server's other mapping functions
 * (`partition`, `split`, `splitFromLeft`, ...) are not supported: a transform using one is
 * refused as invalid.
 */
export interface SubjectTransform {
  readonly src: string;
  readonly dest: string;
  /** The transformed subject, or null when `subject` does not match `src`. */
  apply(subject: string): string | null;
}

const WILDCARD_FN = /^\{\{\s*[wW]ildcard\s*\((.*)\)\s*\}\}$/;

/** What one destination token is: a literal, or the subject's token at an index. */
type DestToken = string | { from: number };

/** Build the transform, or null when nats-server would refuse it (its ErrBadSubject and mapping errors). */
export function compileTransform(src: string, dest: string): SubjectTransform | null {
  if (!transformSubjectOk(src) || !transformSubjectOk(dest)) return null;
  const stokens = src.split(".");
  const dtokens = dest.split(".");
  const srcFwc = stokens[stokens.length - 1] === ">";
  const destFwc = dtokens[dtokens.length - 1] === ">";
  if (dtokens.includes("*") || srcFwc !== destFwc) return null;
  // Position in the subject of each `*` of src, by its 1-based wildcard number.
  const starAt: number[] = [];
  stokens.forEach((t, i) => {
    if (t === "*") starAt.push(i);
  });
  const plan: DestToken[] = [];
  if (starAt.length > 0 || srcFwc) {
    let placeholders = 0;
    for (const t of dtokens) {
      const n = placeholderIndex(t);
      if (n === undefined) {
        plan.push(t);
        continue;
      }
      if (n === null || n < 1 || n > starAt.length) return null;
      placeholders++;
      plan.push({ from: starAt[n - 1] as number });
    }
    if (placeholders < starAt.length) return null;
  }
  return {
    src,
    dest,
    apply(subject: string): string | null {
      if (src !== ">" && !subjectMatches(src, subject)) return null;
      if (plan.length === 0) return dest;
      const tokens = subject.split(".");
      const out: string[] = [];
      for (const p of plan) {
        if (p === ">") break;
        out.push(typeof p === "string" ? p : (tokens[p.from] as string));
      }
      // `>` takes the rest of the subject from where src's `>` stood.
      if (destFwc) for (let i = stokens.length - 1; i < tokens.length; i++) out.push(tokens[i] as string);
      return out.join(".");
    },
  };
}

/**
 * nats-server's subjectInfo: not empty, no empty token, nothing after `>`. (Looser than a
 * subscription's subject: a mapping function such as `{{ wildcard( 1 ) }}` may hold spaces.)
 */
function transformSubjectOk(subject: string): boolean {
  if (subject === "") return false;
  const tokens = subject.split(".");
  return tokens.every((t, i) => t !== "" && (t !== ">" || i === tokens.length - 1));
}

/**
 * A destination token's wildcard number: undefined for a literal token (a `$` not followed by a
 * number is one, as nats-server takes it), null for a mapping function cuebus does not support
 * or a malformed one.
 */
function placeholderIndex(token: string): number | null | undefined {
  if (token.length > 1 && token.startsWith("$")) {
    const n = token.slice(1);
    return /^[+-]?\d+$/.test(n) ? Number(n) : undefined;
  }
  if (token.length > 4 && token.startsWith("{{") && token.endsWith("}}")) {
    const m = WILDCARD_FN.exec(token);
    if (m === null) return null;
    const arg = (m[1] as string).trim();
    return /^[+-]?\d+$/.test(arg) ? Number(arg) : null;
  }
  return undefined;
}
