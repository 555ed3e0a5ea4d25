/**
 * The shared-memory benchmark — a comparison of transports (docs/guide.md#choosing-a-transport), measured
 * here instead of quoted (the full measurements: docs/benchmarks.md): a round trip of 1 B, 1 KiB and 1 MiB to
 * another process over shm://, a Unix socket and TCP loopback, through the same Connection API. A quick look,
 * not a benchmark (that is `pnpm bench`).
 *
 *   pnpm example shm-benchmark
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Connection, Listener } from "@ipc/core";
import { SharedMemory, connect as shmConnect, listen as shmListen } from "@ipc/shm";
import * as tcp from "@ipc/tcp";
import * as unix from "@ipc/unix";

const [role, dir] = process.argv.slice(2);

async function echo(listener: Listener): Promise<void> {
  for await (const connection of listener) {
    void (async () => {
      for await (const message of connection) await connection.send(message);
    })().catch(() => undefined);
  }
}

async function median(connection: Connection, size: number, rounds: number): Promise<number> {
  const message = new Uint8Array(size).fill(7);
  const times: number[] = [];
  for (let i = 0; i < rounds + 10; i++) {
    const start = performance.now();
    await connection.send(message);
    await connection.receive({ timeout: 10_000 });
    if (i >= 10) times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1]! * 1000;
}

const show = (us: number): string => (us < 1000 ? `${us.toFixed(1)} µs` : `${(us / 1000).toFixed(2)} ms`).padStart(10);

if (role === "server") {
  const listeners = [
    await shmListen(`shm://ipc-example-bench-${process.pid}`, { ringCapacity: 2 * 1024 * 1024 }),
    await unix.listen(join(dir!, "bench.sock")),
    await tcp.listen("tcp://127.0.0.1:0"),
  ];
  console.log(JSON.stringify(listeners.map((l) => l.address)));
  await Promise.all(listeners.map(echo));
} else {
  // A million one-byte writes into a 1 MiB segment.
  {
    using memory = SharedMemory.create({ name: `ipc-example-bench-${process.pid}`, size: 1024 * 1024 });
    memory.unlink();
    const bytes = new Uint8Array(memory.buffer);
    const iterations = 1_000_000;
    const start = performance.now();
    for (let i = 0; i < iterations; i++) bytes[i % bytes.length] = i % 256;
    const ms = performance.now() - start;
    console.log(
      `Throughput: ${(iterations / ms / 1000).toFixed(2)} million ops/sec, ${((ms * 1e6) / iterations).toFixed(2)} ns/op (writes into this process's mapping)`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "shm-benchmark-"));
  const server = spawn(process.execPath, [process.argv[1]!, "server", dir], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const [line] = (await once(createInterface({ input: server.stdout! }), "line")) as [string];
    const [shmAddress, unixAddress, tcpAddress] = JSON.parse(line) as [string, string, string];
    const connections = [
      await shmConnect(shmAddress, { timeout: 5000 }),
      await unix.connect(unixAddress, { timeout: 5000 }),
      await tcp.connect(tcpAddress, { timeout: 5000 }),
    ];
    console.log("\nRound trip to another process (median):");
    console.log(`${"message".padEnd(10)}${"shm://".padStart(10)}${"unix".padStart(10)}${"tcp".padStart(10)}`);
    for (const [label, size, rounds] of [
      ["1 B", 1, 2000],
      ["1 KiB", 1024, 2000],
      ["1 MiB", 1024 * 1024, 30],
    ] as const) {
      const row = [];
      for (const connection of connections) row.push(show(await median(connection, size, rounds)));
      console.log(`${label.padEnd(10)}${row.join("")}`);
    }
    for (const connection of connections) await connection.close({ timeout: 5000 });
  } finally {
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
