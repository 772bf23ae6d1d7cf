import { randomBytes } from "node:crypto";
import type { KeyLock } from "../util/key-lock.js";
import { AdvisorySubjects, advisoryBody } from "./advisories.js";
import type { ConsumerAction } from "./api/context.js";
import type { Bus } from "./bus.js";
import { Consumer, type ConsumerHooks } from "./consumer.js";
import { checkConsumerUpdate, subjectsIntersect, type ConsumerConfig } from "./consumer-config.js";
import type { ConsumerStateWriter } from "./consumer-state-writer.js";
import { jsError, type JsApiError } from "./errors.js";
import type { StreamRegistry } from "./stream-registry.js";

/**
 * Consumer administration: `CONSUMER.CREATE` in all its forms (a new consumer, or an allowed
 * update of one), with the work-queue stream's rules, and `CONSUMER.DELETE`. Each runs under its
 * stream's lock, shared with stream administration; a durable consumer's config and state are
 * written to (or removed from) its store before the change is served, and a change that cannot be
 * written changes nothing.
 */
export class ConsumerAdmin {
  /** `locks`: one chain per stream name, shared with stream administration. */
  constructor(
    private readonly registry: StreamRegistry,
    private readonly locks: KeyLock,
    private readonly stateWriter: ConsumerStateWriter,
    private readonly bus: Bus,
    private readonly hooks: ConsumerHooks,
    private readonly warn: (line: string) => void,
  ) {}

  /** CONSUMER.CREATE in all its forms: a new consumer, or an allowed update of an existing one. */
  createConsumer(streamName: string, cfg: ConsumerConfig, action: ConsumerAction): Promise<Consumer | JsApiError> {
    return this.locks.run(streamName, () => this.createConsumerNow(streamName, cfg, action));
  }

  private async createConsumerNow(streamName: string, cfg: ConsumerConfig, action: ConsumerAction): Promise<Consumer | JsApiError> {
    const e = this.registry.streams.get(streamName);
    if (e === undefined) return jsError("StreamNotFound");
    const sc = e.stream.config;
    let name = cfg.durable_name ?? cfg.name ?? "";
    const existing = name === "" ? undefined : e.consumers.get(name);
    if (existing !== undefined) {
      // The API keeps a durable durable when an update by name leaves durable_name out, but it
      // looks before this lock: a durable created meanwhile under the name would get a config
      // without one, saved into its files, and not be loaded at the next start.
      if (existing.durable && cfg.durable_name === undefined) return jsError("ConsumerCreate", { err: "a durable consumer can not be made ephemeral" });
      const verdict = checkConsumerUpdate(existing.config, cfg, existing.isActive);
      if (verdict === null) {
        if (JSON.stringify(existing.config) === JSON.stringify(cfg)) return existing;
        if (action === "create") return jsError("ConsumerAlreadyExists");
        // On disk first: if it cannot be written, the consumer keeps its old config.
        try {
          await this.stateWriter.saveConfig(existing, cfg);
        } catch (err) {
          return jsError("ConsumerCreate", { err: `could not write the consumer's config: ${errText(err)}` });
        }
        existing.config = cfg;
        existing.kick();
        return existing;
      }
      return typeof verdict === "string" ? jsError("ConsumerCreate", { err: verdict }) : verdict;
    }
    if (action === "update") return jsError("ConsumerDoesNotExist");
    if (name !== "" && this.registry.isUnloaded(streamName, name)) {
      return jsError("ConsumerCreate", { err: `consumer "${name}" is on disk but could not be loaded (see /jsz); its files are kept until an operator removes them` });
    }
    if (sc.max_consumers > 0 && e.consumers.size >= sc.max_consumers) return jsError("MaximumConsumersLimit");
    if (sc.retention === "workqueue") {
      if (cfg.ack_policy !== "explicit") return jsError("ConsumerWQRequiresExplicitAck");
      if (e.consumers.size > 0) {
        const mine = filtersOf(cfg);
        if (mine.length === 0) return jsError("ConsumerWQMultipleUnfiltered");
        for (const o of e.consumers.values()) {
          const theirs = o.filterSubjects;
          if (theirs.length === 0 || theirs.some((a) => mine.some((b) => subjectsIntersect(a, b)))) return jsError("ConsumerWQConsumerNotUnique");
        }
      }
      if (cfg.deliver_policy !== "all") return jsError("ConsumerWQConsumerNotDeliverAll");
    }
    if (name === "") {
      do name = randomBytes(16).toString("base64url").replace(/[-_]/g, "").slice(0, 22);
      while (e.consumers.has(name));
      cfg = { ...cfg, name };
      cfg = reorder(cfg);
    }
    const c = new Consumer(e.stream, cfg, name, new Date(), this.bus, this.hooks, null);
    await c.selectStart();
    try {
      await this.stateWriter.create(c);
    } catch (err) {
      return jsError("ConsumerStoreFailed", { err: errText(err) });
    }
    e.consumers.set(name, c);
    c.start();
    this.hooks.advisory(`${AdvisorySubjects.created}.${streamName}.${name}`, advisoryBody("consumer_action", streamName, name, { action: "create" }));
    return c;
  }

  /** CONSUMER.DELETE (of `only`, when given: not a consumer that took its name since). */
  deleteConsumer(streamName: string, name: string, only?: Consumer): Promise<boolean> {
    return this.locks.run(streamName, async () => {
      const e = this.registry.streams.get(streamName);
      const c = e?.consumers.get(name);
      if (e === undefined || c === undefined || (only !== undefined && c !== only)) return false;
      // Its stored config and state first: if they cannot be removed, the consumer goes on as before.
      await this.stateWriter.hold(c);
      try {
        await this.stateWriter.remove(c);
      } catch (err) {
        if (await this.stateWriter.exists(c)) {
          this.stateWriter.resume(c);
          throw new Error(`consumer "${name}" could not be deleted: ${errText(err)}`);
        }
        this.warn(`JetStream: consumer "${streamName} > ${name}" deleted, but not all of its files could be removed (the next start removes them): ${errText(err)}`);
      }
      c.stop(true);
      e.consumers.delete(name);
      await this.stateWriter.forget(c);
      this.hooks.advisory(`${AdvisorySubjects.deleted}.${streamName}.${name}`, advisoryBody("consumer_action", streamName, name, { action: "delete" }));
      return true;
    });
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function filtersOf(c: ConsumerConfig): string[] {
  return c.filter_subjects ?? (c.filter_subject !== undefined ? [c.filter_subject] : []);
}

/** Keep `name` where nats-server prints it (after durable_name) when we fill it in. */
function reorder(c: ConsumerConfig): ConsumerConfig {
  const { durable_name, name, ...rest } = c;
  return { ...(durable_name !== undefined ? { durable_name } : {}), ...(name !== undefined ? { name } : {}), ...rest } as ConsumerConfig;
}
