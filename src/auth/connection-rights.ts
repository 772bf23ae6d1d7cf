import { DefaultResponsePermission, PermissionCheck, publishPermission, type Permissions, type ResponsePermission } from "./permissions.js";

/**
 * What one connection may publish and subscribe to, as nats-server applies a user's permissions:
 * publish and subscribe checks, and under `allow_responses` the replies the connection is owed
 * (a reply subject of a message it received, up to `max` times within `expiresMs`).
 */
export class ConnectionRights {
  private pub = new PermissionCheck(undefined);
  /** No publish rights to check (the common case: skip the lookup). */
  private pubOpen = true;
  private sub = new PermissionCheck(undefined);
  private responsePerm: ResponsePermission = DefaultResponsePermission;
  private responses: Map<string, { left: number; untilMs: number }> | null = null;

  /** Apply a user's permissions (at CONNECT, and again when the users are reloaded). */
  set(p: Permissions): void {
    const publish = publishPermission(p);
    this.pub = new PermissionCheck(publish);
    this.pubOpen = publish === undefined;
    this.sub = new PermissionCheck(p.subscribe);
    this.responsePerm = p.allowResponses ?? DefaultResponsePermission;
    if (p.allowResponses === undefined) this.responses = null;
    else this.responses ??= new Map();
  }

  /** May the connection publish to `subject` (a reply it is owed counts once)? */
  mayPublish(subject: string): boolean {
    if (this.pubOpen) return true;
    if (this.pub.allowed(subject)) return true;
    if (this.responses !== null) {
      const r = this.responses.get(subject);
      if (r !== undefined) {
        if (Date.now() > r.untilMs) {
          this.responses.delete(subject);
          return false;
        }
        if (r.left > 0 && --r.left === 0) this.responses.delete(subject);
        return true;
      }
    }
    return false;
  }

  /** May the connection subscribe to `subject` (in `queue`, "" for none)? */
  maySubscribe(subject: string, queue: string): boolean {
    return this.sub.allowedSub(subject, queue);
  }

  /** A message with reply subject `reply` was delivered to the connection: under allow_responses it may answer. */
  owe(reply: string): void {
    if (this.responses === null) return;
    const ar = this.responsePerm;
    this.responses.set(reply, { left: ar.max, untilMs: Date.now() + ar.expiresMs });
  }
}
