/**
 * The child side of the cross-process cases: `node peer.js <module> <address> <mode> [count]`. It imports
 * the transport module named by the fixture, connects, and plays one part, printing one line on stdout
 * at each step the parent waits for. Kept free of vitest: it is a plain program.
 *
 * Modes:
 * - `echo`: print `ready`, echo every message until the peer closes, then close and exit 0.
 * - `batch-echo`: like `echo` through the batch path: each `receiveBatch()` sent back with one `sendBatch()`.
 * - `send-then-hang`: send `count` patterned messages of 1000 bytes, start an 8 MiB one, let the event
 *   loop turn once (so what was accepted is written), print `sent`, and wait to be killed.
 * - `send-batches-then-hang`: send `count` batches of 20 patterned messages of 200 bytes (one `sendBatch()`
 *   each), start a batch of 128 messages of 64 KiB, let the event loop turn once, print `sent`, and wait to be
 *   killed.
 * - `raw-partial`: over `connectRaw`, write `count` whole frames and the first 14 bytes of a 100-byte one,
 *   print `sent`, and wait to be killed.
 */
import { pathToFileURL } from "node:url";
import type { Connection } from "@ipc/core";
import type { Duplex } from "node:stream";
import { patterned } from "./harness.js";
import { rawFrame } from "./cases/raw.js";

interface TransportModule {
  connect(address: string, options?: object): Promise<Connection>;
  connectRaw?(address: string): Promise<Duplex>;
}

const [modulePath, address, mode, countText] = process.argv.slice(2);
const count = Number(countText ?? "0");
const transport = (await import(modulePath!.startsWith("/") ? pathToFileURL(modulePath!).href : modulePath!)) as TransportModule;
const hang = (): Promise<never> => new Promise<never>(() => setInterval(() => undefined, 60_000));

switch (mode) {
  case "echo": {
    const connection = await transport.connect(address!, { timeout: 10_000 });
    process.stdout.write("ready\n");
    for await (const message of connection) await connection.send(message);
    await connection.close({ timeout: 10_000 });
    break;
  }
  case "batch-echo": {
    const connection = await transport.connect(address!, { timeout: 10_000 });
    process.stdout.write("ready\n");
    for (let batch = await connection.receiveBatch(); batch !== undefined; batch = await connection.receiveBatch()) await connection.sendBatch(batch);
    await connection.close({ timeout: 10_000 });
    break;
  }
  case "send-then-hang": {
    const connection = await transport.connect(address!, { timeout: 10_000 });
    for (let seq = 0; seq < count; seq++) await connection.send(patterned(seq, 1000));
    void connection.send(patterned(count, 8 * 1024 * 1024)).catch(() => undefined);
    // Accepted is not yet written: let the transport's batch go out before telling the parent.
    await new Promise((resolve) => setImmediate(resolve));
    process.stdout.write("sent\n");
    await hang();
    break;
  }
  case "send-batches-then-hang": {
    const connection = await transport.connect(address!, { timeout: 10_000 });
    for (let batch = 0; batch < count; batch++) {
      await connection.sendBatch(Array.from({ length: 20 }, (_, i) => patterned(batch * 20 + i, 200)));
    }
    void connection.sendBatch(Array.from({ length: 128 }, (_, i) => patterned(count * 20 + i, 64 * 1024))).catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    process.stdout.write("sent\n");
    await hang();
    break;
  }
  case "raw-partial": {
    if (transport.connectRaw === undefined) throw new Error(`${modulePath} does not export connectRaw`);
    const socket = await transport.connectRaw(address!);
    socket.resume(); // read (and drop) whatever the server sends, such as a handshake, like a real client
    for (let seq = 0; seq < count; seq++) socket.write(rawFrame(patterned(seq, 1000)));
    socket.write(rawFrame(patterned(count, 100)).subarray(0, 14), () => process.stdout.write("sent\n"));
    await hang();
    break;
  }
  default:
    throw new Error(`unknown mode '${String(mode)}'`);
}
