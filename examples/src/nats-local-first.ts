/**
 * Local first: a service listens on a Unix socket and on NATS, and announces its socket beside its NATS
 * subjects. The same client code reaches it directly over the socket from this machine, and through NATS
 * from anywhere else — here "anywhere else" is simulated by a client that says it runs on another host.
 *
 *   pnpm example nats-local-first        (uses NATS_URL, or starts nats-server on a free port)
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect as connectNats } from "@nats-io/transport-node";
import { connectService, serveLocalFirst } from "@ipc/nats";
import { loadService, protobuf, type Unary } from "@ipc/rpc";
import { connect as connectUnix, listen as listenUnix } from "@ipc/unix";
import { natsServer, natsServerInstalled } from "./lib/nats-server.js";

const CALCULATOR_PROTO = `
syntax = "proto3";
package calc;
service Calculator { rpc Add (AddRequest) returns (Result); }
message AddRequest { int32 a = 1; int32 b = 2; }
message Result { int32 value = 1; int32 server = 2; }
`;
type CalculatorMethods = { readonly add: Unary<{ a: number; b: number }, { value: number; server: number }> };
const Calculator = loadService<CalculatorMethods>(protobuf.parse(CALCULATOR_PROTO).root, "calc.Calculator");

if (process.argv[2] === "server") {
  const [, , , url, socket] = process.argv;
  const nc = await connectNats({ servers: url! });
  const server = serveLocalFirst(
    nc,
    Calculator,
    { add: ({ a, b }) => ({ value: a + b, server: process.pid }) },
    {
      listeners: [await listenUnix(socket!)],
    },
  );
  await nc.flush();
  process.stdout.write(`ready ${server.endpoints.join(" ")}\n`);
  process.stdin.resume();
  await once(process.stdin, "end");
  await server.close({ timeout: 5000 });
  await nc.close();
} else if (!natsServerInstalled() && !process.env.NATS_URL) {
  console.log("this example needs a NATS server: set NATS_URL, or install nats-server (Debian: apt-get install nats-server)");
} else {
  const nats = await natsServer();
  const dir = mkdtempSync(join(tmpdir(), "ipc-local-first-"));
  const server = spawn(process.execPath, [fileURLToPath(import.meta.url), "server", nats.url, join(dir, "calc.sock")], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const [ready] = (await once(server.stdout!, "data")) as [Buffer];
  console.log(`server ${ready.toString().trim().replace(dir, "<tmp>")}`);
  const nc = await connectNats({ servers: nats.url });

  // The same code twice: only where it runs differs.
  for (const host of [undefined, "another-machine"]) {
    await using calc = await connectService(nc, Calculator, { connect: connectUnix, host });
    const { value, server: pid } = await calc.add({ a: 19, b: 23 }, { timeout: 5000 });
    const where = calc.route.kind === "local" ? `locally over ${calc.route.address.replace(dir, "<tmp>")}` : "through NATS";
    console.log(`${host ?? "this machine"}: Add(19, 23) = ${value} ${where}${pid === server.pid ? ", from the server process" : ""}`);
  }

  await nc.close();
  server.stdin!.end();
  const [code] = (await once(server, "exit")) as [number];
  console.log(`server exited with code ${code}`);
  rmSync(dir, { recursive: true, force: true });
  nats.stop();
}
