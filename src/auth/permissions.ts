import { subjectMatches } from "../subjects/validate.js";

/** allow/deny lists for one direction, as in nats-server's `permissions` block. */
export interface SubjectPermission {
  allow?: string[];
  deny?: string[];
}

/** `allow_responses`: publish to reply subjects of requests received, up to `max` replies within `expiresMs`. */
export interface ResponsePermission {
  max: number;
  expiresMs: number;
}

/** Per-user permissions (nats-server `Permissions`). */
export interface Permissions {
  publish?: SubjectPermission;
  subscribe?: SubjectPermission;
  allowResponses?: ResponsePermission;
}

/** nats-server DEFAULT_ALLOW_RESPONSE_MAX_MSGS / DEFAULT_ALLOW_RESPONSE_EXPIRATION. */
export const DefaultResponsePermission: ResponsePermission = { max: 1, expiresMs: 2 * 60 * 1000 };

/** Publish rights that allow nothing (responses are checked apart). */
const PUBLISH_NOTHING: SubjectPermission = { deny: [">"] };

/**
 * The publish rights of `p` as nats-server applies them: `allow_responses` without a `publish`
 * block allows publishing to nothing but the replies the responder is owed.
 */
export function publishPermission(p: Permissions): SubjectPermission | undefined {
  if (p.publish === undefined && p.allowResponses !== undefined) return PUBLISH_NOTHING;
  return p.publish;
}

const PERM_CACHE_MAX = 1024;

/**
 * Answers "may this subject be used?" for one direction, caching results for literal subjects
 * (bounded; cleared when full).
 */
export class PermissionCheck {
  private readonly cache = new Map<string, boolean>();
  constructor(private readonly perm: SubjectPermission | undefined) {}

  allowed(subject: string): boolean {
    if (this.perm === undefined) return true;
    const hit = this.cache.get(subject);
    if (hit !== undefined) return hit;
    const ok = this.compute(subject);
    if (this.cache.size >= PERM_CACHE_MAX) this.cache.clear();
    this.cache.set(subject, ok);
    return ok;
  }

  /** For a subscription, which may itself hold wildcards: allowed if an allow entry covers it. */
  allowedSub(subject: string, queue: string): boolean {
    if (this.perm === undefined) return true;
    const { allow, deny } = this.perm;
    if (allow !== undefined && allow.length > 0) {
      const ok = allow.some((a) => covers(a, subject) || (queue !== "" && covers(a, `${subject} ${queue}`)));
      if (!ok) return false;
    }
    if (deny !== undefined && deny.some((d) => covers(d, subject) || subjectMatches(subject, d.split(" ")[0] ?? d))) {
      return false;
    }
    return true;
  }

  private compute(subject: string): boolean {
    const { allow, deny } = this.perm ?? {};
    if (allow !== undefined && allow.length > 0 && !allow.some((a) => subjectMatches(a, subject))) return false;
    if (deny !== undefined && deny.some((d) => subjectMatches(d, subject))) return false;
    return true;
  }
}

/** Does pattern `a` match every subject that pattern `b` can match? */
export function covers(a: string, b: string): boolean {
  const at = a.split(".");
  const bt = b.split(".");
  for (let i = 0; i < at.length; i++) {
    const x = at[i];
    if (x === ">") return bt.length > i;
    if (i >= bt.length) return false;
    const y = bt[i];
    if (y === ">") return false;
    if (x === "*") continue;
    if (y === "*" || x !== y) return false;
  }
  return at.length === bt.length;
}
