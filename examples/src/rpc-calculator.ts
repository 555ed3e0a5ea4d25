/**
 * RPC (docs/guide.md#rpc) — a calculator with Add, Multiply and Echo — as a protobuf service: a server
 * process and a client process over a Unix socket (or TCP), typed calls, and typed errors.
 *
 *   pnpm example rpc-calculator        # over a Unix socket
 *   pnpm example rpc-calculator tcp    # over TCP on 127.0.0.1
 *
 * The sockets are @ipc/unix's and @ipc/tcp's; the RPC code is the same over both (and over any other
 * @ipc connection). Over the Unix socket the server knows its caller's pid (`context.peer`).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Connection, Listener } from "@ipc/core";
import { RpcError, createClient, loadService, protobuf, serve, type Unary } from "@ipc/rpc";
import * as tcp from "@ipc/tcp";
import * as unix from "@ipc/unix";

const CALCULATOR_PROTO = `
syntax = "proto3";
package calc;

service Calculator {
  rpc Add (BinaryOp) returns (Result);
  rpc Multiply (BinaryOp) returns (Result);
  rpc Echo (EchoRequest) returns (EchoReply);
}

message BinaryOp { int32 a = 1; int32 b = 2; }
message Result { int32 value = 1; }
message EchoRequest { string message = 1; }
message EchoReply { string message = 1; }
`;

interface BinaryOp {
  a: number;
  b: number;
}

// The service is parsed at run time here; `pbjs -t static-module` generates the same types from the file.
const Calculator = loadService<{
  readonly add: Unary<BinaryOp, { value: number }>;
  readonly multiply: Unary<BinaryOp, { value: number }>;
  readonly echo: Unary<{ message: string }, { message: string }>;
}>(protobuf.parse(CALCULATOR_PROTO).root, "calc.Calculator");

/** Listens on a `unix://` address (only this user's processes may connect) or a `tcp://` one. */
function listen(address: string): Promise<Listener> {
  return address.startsWith("tcp:") ? tcp.listen(address) : unix.listen(address, { sameUser: true });
}

function connect(address: string): Promise<Connection> {
  return address.startsWith("tcp:") ? tcp.connect(address, { timeout: 5000 }) : unix.connect(address, { timeout: 5000 });
}

if (process.argv[2] === "server") {
  // The server process: serve the calculator until the parent closes stdin, then shut down gracefully.
  const listener = await listen(process.argv[3]!);
  const server = serve(listener, Calculator, {
    add: ({ a, b }) => ({ value: a + b }),
    multiply: ({ a, b }) => {
      const value = a * b;
      if (!Number.isSafeInteger(value) || value > 2 ** 31 - 1 || value < -(2 ** 31)) {
        throw new RpcError("OUT_OF_RANGE", `${a} × ${b} does not fit in an int32`);
      }
      return { value };
    },
    echo: ({ message }, { peer }) => ({ message: `${message} (from server ${process.pid}${peer ? `, to ${peer.pid}` : ""})` }),
  });
  process.stdout.write(`${listener.address}\n`);
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.once("end", resolve));
  await server.close({ timeout: 5000 });
} else {
  const dir = mkdtempSync(join(tmpdir(), "ipc-calculator-"));
  const wanted = process.argv[2] === "tcp" ? "tcp://127.0.0.1:0" : `unix://${join(dir, "calculator.sock")}`;
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "server", wanted], { stdio: ["pipe", "pipe", "inherit"] });
  try {
    const address = (await createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next()).value as string;
    console.log(`server ${child.pid} listens on ${address.startsWith("unix:") ? "a Unix socket" : address}`);

    await using client = createClient(Calculator, await connect(address));
    const sum = await client.add({ a: 19, b: 23 }, { timeout: 1000 });
    console.log(`Add(19, 23) = ${sum.value}`);
    const product = await client.multiply({ a: 6, b: 7 }, { timeout: 1000 });
    console.log(`Multiply(6, 7) = ${product.value}`);
    const echo = await client.echo({ message: "hello" }, { timeout: 1000 });
    console.log(`Echo("hello") = "${echo.message.replace(/\d+/g, "<pid>")}"`);
    try {
      await client.multiply({ a: 1 << 20, b: 1 << 20 });
    } catch (error) {
      if (!(error instanceof RpcError)) throw error;
      console.log(`Multiply(2^20, 2^20) failed: ${error.status}: ${error.message}`);
    }
    // Many calls in flight on one connection, answered by id.
    const sums = await Promise.all(Array.from({ length: 1000 }, (_, i) => client.add({ a: i, b: i })));
    console.log(`1000 calls in flight: the last is Add(999, 999) = ${sums[999]!.value}`);
  } finally {
    child.stdin!.end();
    await new Promise((resolve) => child.once("exit", resolve));
    rmSync(dir, { recursive: true, force: true });
  }
  console.log("server stopped");
}
