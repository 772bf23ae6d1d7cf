import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { Gateway, GatewayFeature } from "../context.js";
import type { Route, RouteCall } from "../routes.js";
import { checkPublish, checkSubscribe, type HttpIdentity } from "../auth.js";
import { HttpError, readJsonObject, sendJson } from "../http-util.js";
import { jsHttpError, type JsErrorReply } from "../js-status.js";
import { DEFAULT_EVENTS_SUBJECT_PREFIX, ensureEventsStream, EVENTS_STREAM } from "../events-compat.js";
import { TargetAllowList } from "./allow-list.js";
import { consumerNameOf, ensureDeadLetterStream, ensureWebhookConsumer, WebhookDelivery } from "./delivery.js";
import { WebhookRegistry } from "./registry.js";
import { MAX_WEBHOOK_SPEC_BYTES, MAX_WEBHOOKS, parseWebhookSpec, publicConfig, sameWebhook, type WebhookConfig, type WebhookCounters } from "./spec.js";

export type { WebhookSpec } from "./spec.js";
export type { WebhookCounters } from "./spec.js";

/** Connections kept open per target host by the delivery agents. */
export const WEBHOOK_MAX_SOCKETS_PER_HOST = 16;

const notFound = (name: string): HttpError => new HttpError(404, `webhook "${name}" not found`);

/**
 * Webhooks: `POST/GET /v1/webhooks`, `GET/DELETE /v1/webhooks/{name}`, `GET /v1/webhooks/{name}/secret`,
 * plus those of the config file. Each webhook is a durable pull consumer made through `$JS.API`
 * and a {@link WebhookDelivery} loop; registrations persist under the store directory.
 * For `/metrics`: {@link WebhooksFeature.list} gives every webhook's counters.
 */
export class WebhooksFeature implements GatewayFeature {
  readonly routes: Route[];
  private readonly hooks = new Map<string, WebhookDelivery>();
  /** Names being registered right now (a second POST of the same name waits its turn with 409). */
  private readonly creating = new Set<string>();
  private readonly registry: WebhookRegistry;
  private readonly allow: TargetAllowList;
  private readonly configured: WebhookConfig[];
  private readonly agents: { http: HttpAgent; https: HttpsAgent };

  /** Throws (a config error) on a bad allow-list entry or config-file webhook. */
  constructor(private readonly g: Gateway) {
    this.registry = new WebhookRegistry(g.opts.storeDir);
    this.allow = new TargetAllowList(g.opts.webhookAllow);
    // Connections resolve through the allow-list too: registration alone cannot stop DNS rebinding.
    const lookup = this.allow.open ? {} : { lookup: this.allow.connectLookup };
    this.agents = {
      http: new HttpAgent({ keepAlive: true, maxSockets: WEBHOOK_MAX_SOCKETS_PER_HOST, ...lookup }),
      https: new HttpsAgent({ keepAlive: true, maxSockets: WEBHOOK_MAX_SOCKETS_PER_HOST, ...lookup }),
    };
    this.configured = (g.opts.webhooks ?? []).map((spec, i) => {
      try {
        return parseWebhookSpec(spec as unknown as Record<string, unknown>, "config");
      } catch (err) {
        throw new Error(`webhooks[${i}]: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
    if (this.configured.length > MAX_WEBHOOKS) throw new Error(`webhooks: more than ${MAX_WEBHOOKS}`);
    const doc = (summary: string, responses: Record<string, string>, description?: string): Route["doc"] =>
      description === undefined ? { summary, responses } : { summary, description, responses };
    this.routes = [
      {
        method: "POST",
        path: "/v1/webhooks",
        auth: true,
        handler: (c) => this.create(c),
        doc: {
          summary: "Register a webhook",
          description:
            "Delivers every message of `stream` (on `filter_subject`) to `url` as a signed POST (Standard Webhooks), retrying with backoff, then into the dead-letter stream. The answer carries the `secret` (generated when not given).",
          body: { "application/json": "{name?, url, stream, filter_subject?, max_attempts?, backoff_ms? (list or {initial, max, multiplier?}), timeout_ms?, secret?, dead_letter_stream?, deliver_policy? (new|all)}" },
          responses: { "201": "registered", "200": "the same registration existed", "400": "bad registration", "403": "not permitted or target not in the allow-list", "404": "no such stream", "409": "a different webhook has this name", "503": "JetStream is not enabled" },
        },
      },
      { method: "GET", path: "/v1/webhooks", auth: true, handler: (c) => this.listRoute(c), doc: doc("List webhooks (those whose subjects the caller may subscribe to)", { "200": "{webhooks: [...]}" }) },
      {
        method: "GET",
        path: "/v1/webhooks/{name}",
        auth: true,
        handler: (c) => this.inspect(c),
        doc: doc("Inspect a webhook", { "200": "config (without the secret), deliveries, failures, attempts, dead_letters, last_status, last_error, lag", "404": "no such webhook" }),
      },
      { method: "DELETE", path: "/v1/webhooks/{name}", auth: true, handler: (c) => this.remove(c), doc: doc("Delete a webhook and its consumer", { "200": "deleted", "404": "no such webhook" }, "The dead-letter stream is kept.") },
      { method: "GET", path: "/v1/webhooks/{name}/secret", auth: true, handler: (c) => this.secret(c), doc: doc("A webhook's signing secret", { "200": "{secret}", "404": "no such webhook" }) },
    ];
  }

  /** Counters of every webhook (for `/metrics`): deliveries, failures, attempts, deadLetters, lastStatus. */
  list(): WebhookCounters[] {
    return [...this.hooks.values()].map((d) => d.counters);
  }

  /** Load saved registrations, apply the config file's, and start delivering. */
  async start(): Promise<void> {
    if (!this.g.jetstream) {
      if (this.configured.length > 0) this.g.core.debug?.("webhooks: JetStream is not enabled; config-file webhooks are not started");
      return;
    }
    const saved = await this.registry.load();
    const all = new Map(saved.map((c) => [c.name, c]));
    const inConfig = new Set(this.configured.map((c) => c.name));
    // A config-file webhook no longer in the file goes away with its consumer.
    for (const c of saved) {
      if (c.source !== "config" || inConfig.has(c.name)) continue;
      all.delete(c.name);
      await this.g.bus.jsApi(`CONSUMER.DELETE.${c.stream}.${consumerNameOf(c.name)}`);
    }
    for (const [i, c] of this.configured.entries()) {
      const prev = all.get(c.name);
      const given = this.g.opts.webhooks?.[i]?.secret;
      if (prev !== undefined) {
        if (given === undefined) c.secret = prev.secret;
        c.created = prev.created;
      }
      all.set(c.name, c);
    }
    if (all.size > MAX_WEBHOOKS) throw new Error(`webhooks: more than ${MAX_WEBHOOKS} registered`);
    await this.registry.save([...all.values()]);
    if ([...all.values()].some((c) => c.stream === EVENTS_STREAM)) {
      await this.eventsStream().catch((err: unknown) => this.g.core.debug?.(`webhooks: events stream: ${String(err)}`));
    }
    for (const cfg of all.values()) {
      const d = new WebhookDelivery(cfg, this.g.bus, this.agents);
      this.hooks.set(cfg.name, d);
      try {
        await this.allow.check(new URL(cfg.url));
      } catch (err) {
        // The allow-list changed since it was registered: keep it, visible, but do not deliver.
        d.counters.lastError = `not started: ${err instanceof Error ? err.message : String(err)}`;
        continue;
      }
      // Made before start() returns, so nothing published after the server is up is missed.
      try {
        await ensureDeadLetterStream(this.g.bus, cfg.dead_letter_stream);
        await ensureWebhookConsumer(this.g.bus, cfg);
        d.start(true);
      } catch (err) {
        // The stream may come later: the delivery loop keeps trying.
        d.counters.lastError = `consumer set-up: ${err instanceof Error ? err.message : String(err)}`;
        d.start(false);
      }
    }
  }

  async close(): Promise<void> {
    for (const d of this.hooks.values()) d.stop();
    this.hooks.clear();
    await this.registry.flush();
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private requireJetStream(): void {
    if (!this.g.jetstream) throw new HttpError(503, "JetStream is not enabled on this server");
  }

  /**
   * The `/events` stream, made when missing, so the plain HTTP event bus's targets can be
   * registered (and miss nothing) before its first event.
   */
  private eventsStream(): Promise<string> {
    return ensureEventsStream(this.g.bus, this.g.opts.eventsSubjectPrefix ?? DEFAULT_EVENTS_SUBJECT_PREFIX);
  }

  /** The subjects a webhook reads: its filter, or every subject of its stream. */
  private async subjectsOf(cfg: Pick<WebhookConfig, "stream" | "filter_subject">): Promise<string[]> {
    if (cfg.filter_subject !== "") return [cfg.filter_subject];
    const info = await this.g.bus.jsApiOk(`STREAM.INFO.${cfg.stream}`);
    return ((info["config"] as { subjects?: string[] } | undefined)?.subjects ?? []).slice();
  }

  /** 403 unless `who` may subscribe to everything the webhook reads (404 for an unknown stream). */
  private async mayRead(who: HttpIdentity, cfg: WebhookConfig): Promise<void> {
    for (const s of await this.subjectsOf(cfg)) checkSubscribe(who, s);
  }

  private async create({ req, res, who }: RouteCall): Promise<void> {
    this.requireJetStream();
    const raw = await readJsonObject(req, MAX_WEBHOOK_SPEC_BYTES);
    const cfg = parseWebhookSpec(raw, "api");
    const existing = this.hooks.get(cfg.name);
    if (existing !== undefined) {
      if (raw["secret"] === undefined) cfg.secret = existing.cfg.secret;
      cfg.created = existing.cfg.created;
      cfg.source = existing.cfg.source;
      await this.mayRead(who, existing.cfg);
      if (!sameWebhook(existing.cfg, cfg)) throw new HttpError(409, `webhook "${cfg.name}" exists with a different configuration; delete it first`);
      sendJson(res, 200, { ...(await this.view(existing)), secret: existing.cfg.secret });
      return;
    }
    if (this.creating.has(cfg.name)) throw new HttpError(409, `webhook "${cfg.name}" is being registered`);
    if (this.hooks.size + this.creating.size >= MAX_WEBHOOKS) throw new HttpError(400, `at most ${MAX_WEBHOOKS} webhooks may be registered`);
    await this.allow.check(new URL(cfg.url));
    if (cfg.filter_subject !== "") checkSubscribe(who, cfg.filter_subject);
    if (cfg.stream === EVENTS_STREAM) await this.eventsStream();
    await this.mayRead(who, cfg);
    const consumer = consumerNameOf(cfg.name);
    // What a NATS client would need to publish to make the same consumer.
    checkPublish(who, `$JS.API.CONSUMER.CREATE.${cfg.stream}.${consumer}${cfg.filter_subject === "" ? "" : `.${cfg.filter_subject}`}`);
    const dlqInfo = await this.g.bus.jsApi(`STREAM.INFO.${cfg.dead_letter_stream}`);
    if (dlqInfo["error"] !== undefined) checkPublish(who, `$JS.API.STREAM.CREATE.${cfg.dead_letter_stream}`);
    if (this.hooks.has(cfg.name) || this.creating.has(cfg.name)) throw new HttpError(409, `webhook "${cfg.name}" was registered meanwhile`);
    this.creating.add(cfg.name);
    try {
      // The consumer first: JetStream checks the filter against the stream before anything is made.
      await ensureWebhookConsumer(this.g.bus, cfg);
      try {
        await ensureDeadLetterStream(this.g.bus, cfg.dead_letter_stream);
        await this.registry.save([...[...this.hooks.values()].map((d) => d.cfg), cfg]);
      } catch (err) {
        // Nothing half-done: the consumer goes again.
        await this.g.bus.jsApi(`CONSUMER.DELETE.${cfg.stream}.${consumer}`).catch(() => undefined);
        throw err;
      }
    } finally {
      this.creating.delete(cfg.name);
    }
    const d = new WebhookDelivery(cfg, this.g.bus, this.agents);
    this.hooks.set(cfg.name, d);
    d.start(true);
    sendJson(res, 201, { ...(await this.view(d)), secret: cfg.secret }, { location: `/v1/webhooks/${cfg.name}` });
  }

  /** The webhook named in the path, when the caller may read its subjects (404 otherwise). */
  private async find(who: HttpIdentity, name: string): Promise<WebhookDelivery> {
    const d = this.hooks.get(name);
    if (d === undefined) throw notFound(name);
    await this.mayRead(who, d.cfg).catch((err: unknown) => {
      // A deleted stream must not hide the webhook from its owner; a permission refusal does.
      if (err instanceof HttpError && err.status === 403) throw err;
    });
    return d;
  }

  /** Config without the secret, counters, and lag from the consumer (pending + awaiting ack). */
  private async view(d: WebhookDelivery): Promise<Record<string, unknown>> {
    const c = d.counters;
    const out: Record<string, unknown> = {
      ...publicConfig(d.cfg),
      consumer: consumerNameOf(d.cfg.name),
      deliveries: c.deliveries,
      failures: c.failures,
      attempts: c.attempts,
      dead_letters: c.deadLetters,
      last_status: c.lastStatus,
      last_error: c.lastError,
      last_attempt_at: c.lastAttemptAt === "" ? null : c.lastAttemptAt,
    };
    const info = await this.g.bus.jsApi(`CONSUMER.INFO.${d.cfg.stream}.${consumerNameOf(d.cfg.name)}`);
    if (info["error"] === undefined) {
      const pending = Number(info["num_pending"] ?? 0);
      const ackPending = Number(info["num_ack_pending"] ?? 0);
      out["num_pending"] = pending;
      out["num_ack_pending"] = ackPending;
      out["num_redelivered"] = Number(info["num_redelivered"] ?? 0);
      out["lag"] = pending + ackPending;
    } else {
      out["lag"] = null;
      out["consumer_error"] = (info["error"] as { description?: string }).description ?? "consumer not found";
    }
    return out;
  }

  private async listRoute({ res, who }: RouteCall): Promise<void> {
    const out: Array<Record<string, unknown>> = [];
    for (const d of [...this.hooks.values()].sort((a, b) => (a.cfg.name < b.cfg.name ? -1 : 1))) {
      try {
        await this.find(who, d.cfg.name);
      } catch {
        continue;
      }
      out.push(await this.view(d));
    }
    sendJson(res, 200, { total: out.length, webhooks: out });
  }

  private async inspect({ res, params, who }: RouteCall): Promise<void> {
    const d = await this.find(who, params["name"] as string);
    sendJson(res, 200, await this.view(d));
  }

  private async secret({ res, params, who }: RouteCall): Promise<void> {
    const d = await this.find(who, params["name"] as string);
    sendJson(res, 200, { name: d.cfg.name, secret: d.cfg.secret });
  }

  private async remove({ res, params, who }: RouteCall): Promise<void> {
    const name = params["name"] as string;
    const d = await this.find(who, name);
    const consumer = consumerNameOf(name);
    checkPublish(who, `$JS.API.CONSUMER.DELETE.${d.cfg.stream}.${consumer}`);
    if (this.hooks.get(name) !== d) throw notFound(name);
    d.stop();
    this.hooks.delete(name);
    await this.registry.save([...this.hooks.values()].map((h) => h.cfg));
    const r = await this.g.bus.jsApi(`CONSUMER.DELETE.${d.cfg.stream}.${consumer}`);
    const e = r["error"] as JsErrorReply | undefined;
    // Already gone (with its stream, or deleted over $JS.API) is fine: the webhook is gone either way.
    if (e !== undefined && e.err_code !== 10014 && e.err_code !== 10059) throw jsHttpError(e, "consumer delete failed");
    sendJson(res, 200, { success: true, name });
  }
}
