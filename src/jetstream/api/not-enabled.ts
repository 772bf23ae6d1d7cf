import type { Bus } from "../bus.js";
import { jsError } from "../errors.js";

const T = "io.nats.jetstream.api.v1.";

/** One `$JS.API` request kind as nats-server 2.9.10 answers it for an account without JetStream. */
interface Refusal {
  /** Tokens after `$JS.API.` (`*`: any one token, then as many tokens as `min`..`max` allow). */
  readonly prefix: readonly string[];
  readonly min: number;
  readonly max: number;
  readonly type: string;
  /** Fields its response type carries beside the error (paging, a purge's count). */
  readonly extra?: Readonly<Record<string, unknown>>;
  /** The error: 10039, or 10010 for the cluster-only operations (those ask for clustering first). */
  readonly clusterOnly?: boolean;
}

const PAGED = { total: 0, offset: 0, limit: 0 } as const;

/**
 * What nats-server 2.9.10 answers, each run against it (tests/e2e/accounts.test.ts compares them):
 * pull requests, direct gets and subjects it does not know get no answer (the client times out).
 * `ACCOUNT.PURGE` is left unanswered too: nats-server answers it from the system account's
 * handler, which cuebus does not have.
 */
const REFUSALS: readonly Refusal[] = [
  { prefix: ["INFO"], min: 1, max: 1, type: "account_info_response" },
  { prefix: ["STREAM", "CREATE"], min: 3, max: 3, type: "stream_create_response" },
  { prefix: ["STREAM", "UPDATE"], min: 3, max: 3, type: "stream_update_response" },
  { prefix: ["STREAM", "DELETE"], min: 3, max: 3, type: "stream_delete_response" },
  { prefix: ["STREAM", "INFO"], min: 3, max: 3, type: "stream_info_response", extra: PAGED },
  { prefix: ["STREAM", "NAMES"], min: 2, max: 2, type: "stream_names_response", extra: { ...PAGED, streams: null } },
  { prefix: ["STREAM", "LIST"], min: 2, max: 2, type: "stream_list_response", extra: { ...PAGED, streams: [] } },
  { prefix: ["STREAM", "PURGE"], min: 3, max: 3, type: "stream_purge_response", extra: { purged: 0 } },
  { prefix: ["STREAM", "MSG", "GET"], min: 4, max: 4, type: "stream_msg_get_response" },
  { prefix: ["STREAM", "MSG", "DELETE"], min: 4, max: 4, type: "stream_msg_delete_response" },
  { prefix: ["STREAM", "SNAPSHOT"], min: 3, max: 3, type: "stream_snapshot_response" },
  { prefix: ["STREAM", "RESTORE"], min: 3, max: 3, type: "stream_restore_response", extra: { deliver_subject: "" } },
  { prefix: ["STREAM", "PEER", "REMOVE"], min: 4, max: 4, type: "stream_remove_peer_response", clusterOnly: true },
  { prefix: ["STREAM", "LEADER", "STEPDOWN"], min: 4, max: 4, type: "stream_leader_stepdown_response", clusterOnly: true },
  { prefix: ["STREAM", "TEMPLATE", "NAMES"], min: 3, max: 3, type: "stream_template_names_response", extra: { ...PAGED, streams: null } },
  { prefix: ["CONSUMER", "CREATE"], min: 3, max: Infinity, type: "consumer_create_response" },
  { prefix: ["CONSUMER", "DURABLE", "CREATE"], min: 5, max: 5, type: "consumer_create_response" },
  { prefix: ["CONSUMER", "INFO"], min: 4, max: 4, type: "consumer_info_response" },
  { prefix: ["CONSUMER", "NAMES"], min: 3, max: 3, type: "consumer_names_response", extra: { ...PAGED, consumers: [] } },
  { prefix: ["CONSUMER", "LIST"], min: 3, max: 3, type: "consumer_list_response", extra: { ...PAGED, consumers: [] } },
  { prefix: ["CONSUMER", "DELETE"], min: 4, max: 4, type: "consumer_delete_response" },
  { prefix: ["CONSUMER", "LEADER", "STEPDOWN"], min: 5, max: 5, type: "consumer_leader_stepdown_response", clusterOnly: true },
];

/** The answer to a `$JS.API` request (`tokens`: after `$JS.API.`) from an account without JetStream, or null for none. */
export function notEnabledResponse(tokens: readonly string[]): Record<string, unknown> | null {
  for (const r of REFUSALS) {
    if (tokens.length < r.min || tokens.length > r.max) continue;
    if (!r.prefix.every((p, i) => tokens[i] === p)) continue;
    const error = jsError(r.clusterOnly === true ? "ClusterRequired" : "NotEnabledForAccount");
    return { type: `${T}${r.type}`, error, ...r.extra };
  }
  return null;
}

/**
 * Answer `$JS.API` in an account JetStream does not serve, as nats-server does when JetStream runs
 * but not for that account (`accounts { A { users } }` without `jetstream: enabled`): 503 / 10039
 * "JetStream not enabled for account". Returns the unsubscribe.
 */
export function refuseJetStreamApi(bus: Bus): () => void {
  return bus.subscribe("$JS.API.>", "", (subject, reply) => {
    if (reply === "") return;
    const res = notEnabledResponse(subject.split(".").slice(2));
    if (res !== null) bus.publish(reply, "", null, Buffer.from(JSON.stringify(res)));
  });
}
