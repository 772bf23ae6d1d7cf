import { randomBytes } from "node:crypto";

/** Subject prefixes of the advisories cuebus publishes (`<prefix>.<stream>.<consumer>`), as nats-server names them. */
export const AdvisorySubjects = {
  maxDeliveries: "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES",
  naked: "$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED",
  terminated: "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED",
  created: "$JS.EVENT.ADVISORY.CONSUMER.CREATED",
  deleted: "$JS.EVENT.ADVISORY.CONSUMER.DELETED",
} as const;

/** An advisory body: nats-server's TypedEvent (type, id, timestamp) plus stream, consumer and fields. */
export function advisoryBody(type: string, stream: string, consumer: string, fields: Record<string, unknown>): Record<string, unknown> {
  return { type: `io.nats.jetstream.advisory.v1.${type}`, id: randomBytes(11).toString("base64url"), timestamp: new Date().toISOString(), stream, consumer, ...fields };
}
