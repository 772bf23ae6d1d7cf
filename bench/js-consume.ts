/**
 * JetStream consume load, run as a child process with the official client (the same client code
 * against both servers): pull `consume` with explicit acks, or `fetch` with ack policy none.
 * Reads one JSON job from argv, prints one JSON result line.
 */
import { connect } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";

interface Job {
  port: number;
  stream: string;
  mode: "consume-ack" | "fetch-noack";
  count: number;
}

const job = JSON.parse(process.argv[2] as string) as Job;

async function main(): Promise<void> {
  const nc = await connect({ port: job.port });
  const jsm = await jetstreamManager(nc);
  const name = `bench_${job.mode.replace("-", "_")}`;
  await jsm.consumers.add(job.stream, { durable_name: name, ack_policy: job.mode === "consume-ack" ? AckPolicy.Explicit : AckPolicy.None, max_ack_pending: 20_000 });
  const c = await jetstream(nc).consumers.get(job.stream, name);
  let got = 0;
  const start = process.hrtime.bigint();
  if (job.mode === "consume-ack") {
    const it = await c.consume({ max_messages: 1000 });
    for await (const m of it) {
      m.ack();
      if (++got >= job.count) break;
    }
  } else {
    while (got < job.count) {
      const batch = await c.fetch({ max_messages: Math.min(1000, job.count - got), expires: 2000 });
      for await (const _m of batch) got++;
    }
  }
  await nc.flush();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(`${JSON.stringify({ got, seconds })}\n`);
  await nc.close();
}

main().catch((err: unknown) => {
  process.stdout.write(`${JSON.stringify({ error: String(err) })}\n`);
  process.exit(1);
});
