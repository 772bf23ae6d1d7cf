/** The generator's ceiling: a server that speaks just enough NATS (INFO, PONG) and discards the rest. */
import { createServer } from "node:net";

const INFO = Buffer.from('INFO {"server_id":"SINK","version":"2.9.10","proto":1,"headers":true,"max_payload":1048576} \r\n');
const PONG = Buffer.from("PONG\r\n");
const srv = createServer((s) => {
  s.write(INFO);
  let tail = "";
  s.on("data", (d: Buffer) => {
    // Only PINGs need an answer; look for them across chunk edges.
    const text = tail + d.toString("latin1");
    let i = -1;
    while ((i = text.indexOf("PING\r\n", i + 1)) !== -1) s.write(PONG);
    tail = text.slice(-5);
  });
  s.on("error", () => {});
});
srv.listen(Number(process.argv[2]), "127.0.0.1", () => process.stdout.write("ready\n"));
