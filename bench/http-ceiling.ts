/**
 * The ceiling of Node's HTTP stack for `bench/http.ts`: a bare `node:http` server, in its own
 * process like cuebus, that reads each request's body and answers 204. A cuebus route can only
 * come close to it.
 */
import { createServer } from "node:http";

const srv = createServer((req, res) => {
  req.on("data", () => {});
  req.on("end", () => {
    res.writeHead(204);
    res.end();
  });
});
srv.listen(Number(process.argv[2]), "127.0.0.1", () => process.stdout.write("ready\n"));
