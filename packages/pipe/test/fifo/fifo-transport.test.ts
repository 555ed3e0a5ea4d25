import { spawnSync } from "node:child_process";
import { closeSync, constants, existsSync, openSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fifoTransport, mkfifo, run, type FifoListenOptions } from "../../src/index.js";
import { tryLock } from "../../src/native/native.js";
import { fixture, readFifoToEnd, rejection, tempDir } from "../helpers.js";

const dir = tempDir("fifo-transport");
let serial = 0;
const fresh = (): { path: string; address: string } => {
  const path = join(dir, `f${++serial}`);
  return { path, address: `fifo://${path}` };
};
const hasPython = spawnSync("python3", ["--version"]).status === 0;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function echoServer(address: string, options?: FifoListenOptions): Promise<{ close(): Promise<void> }> {
  const listener = await fifoTransport.listen(address, options);
  void (async () => {
    for await (const connection of listener) {
      void (async () => {
        for await (const message of connection) await connection.send(message);
        await connection.close();
      })().catch(() => undefined);
    }
  })();
  return listener;
}

describe("fifoTransport (fifo:)", () => {
  it("creates <path>.in, .out and .lock with mode 0600 (or the mode asked), and removes them on close", async () => {
    const { path, address } = fresh();
    const listener = await fifoTransport.listen(address);
    expect(statSync(`${path}.in`).isFIFO()).toBe(true);
    expect(statSync(`${path}.out`).isFIFO()).toBe(true);
    expect(statSync(`${path}.lock`).isFile()).toBe(true);
    for (const suffix of [".in", ".out", ".lock"]) expect(statSync(`${path}${suffix}`).mode & 0o777).toBe(0o600);
    await listener.close();
    expect(readdirSync(dir).filter((name) => name.startsWith(`f${serial}.`))).toEqual([]);
    const other = fresh();
    const shared = await fifoTransport.listen(other.address, { mode: 0o660 });
    expect(statSync(`${other.path}.in`).mode & 0o777).toBe(0o660);
    await shared.close();
  });

  it("gives each connection its own FIFOs: the names get fresh ones while the first connection goes on", async () => {
    const { path, address } = fresh();
    const listener = await echoServer(address);
    try {
      const before = statSync(`${path}.in`).ino;
      const first = await fifoTransport.connect(address, { timeout: 10_000 });
      expect(statSync(`${path}.in`).ino).not.toBe(before);
      const second = await fifoTransport.connect(address, { timeout: 10_000 });
      await first.send(encoder.encode("first"));
      await second.send(encoder.encode("second"));
      expect(decoder.decode(await second.receive({ timeout: 10_000 }))).toBe("second");
      expect(decoder.decode(await first.receive({ timeout: 10_000 }))).toBe("first");
      await Promise.all([first.close({ timeout: 10_000 }), second.close({ timeout: 10_000 })]);
    } finally {
      await listener.close();
    }
  });

  it("replaces a dead listener's files, and refuses a live listener's address with AddressInUseError", async () => {
    const { path, address } = fresh();
    mkfifo(`${path}.in`);
    mkfifo(`${path}.out`);
    writeFileSync(`${path}.lock`, "");
    const listener = await echoServer(address);
    try {
      expect((await rejection(fifoTransport.listen(address))).code).toBe("IPC_ERR_ADDRESS_IN_USE");
      // The probe did not disturb the live listener.
      const client = await fifoTransport.connect(address, { timeout: 10_000 });
      await client.send(encoder.encode("still here"));
      expect(decoder.decode(await client.receive({ timeout: 10_000 }))).toBe("still here");
      await client.close({ timeout: 10_000 });
    } finally {
      await listener.close();
    }
    const { path: other, address: otherAddress } = fresh();
    writeFileSync(`${other}.in`, "a regular file");
    expect((await rejection(fifoTransport.listen(otherAddress))).code).toBe("IPC_ERR_ADDRESS_IN_USE");
    expect(existsSync(`${other}.in`)).toBe(true);
  });

  it("handshakes take turns: while another client holds the lock, connect waits (until its timeout)", async () => {
    const { path, address } = fresh();
    const listener = await echoServer(address);
    const lock = openSync(`${path}.lock`, constants.O_RDONLY);
    try {
      expect(tryLock(lock, `${path}.lock`)).toBe(true);
      expect((await rejection(fifoTransport.connect(address, { timeout: 200 }))).code).toBe("IPC_ERR_TIMEOUT");
      const waiting = fifoTransport.connect(address, { timeout: 10_000 });
      closeSync(lock);
      const client = await waiting;
      await client.close({ timeout: 10_000 });
    } finally {
      await listener.close();
    }
  });

  it("refuses a peer with a wrong greeting (it sees end-of-file) and goes on serving", async () => {
    const { path, address } = fresh();
    const listener = await echoServer(address);
    try {
      const out = openSync(`${path}.out`, constants.O_RDONLY | constants.O_NONBLOCK);
      const inbound = openSync(`${path}.in`, constants.O_WRONLY | constants.O_NONBLOCK);
      writeFileSync(inbound, Buffer.from("GARBAGE!"));
      expect(await readFifoToEnd(out)).toEqual(Buffer.alloc(0));
      closeSync(inbound);
      const client = await fifoTransport.connect(address, { timeout: 10_000 });
      await client.send(encoder.encode("after the stranger"));
      expect(decoder.decode(await client.receive({ timeout: 10_000 }))).toBe("after the stranger");
      await client.close({ timeout: 10_000 });
    } finally {
      await listener.close();
    }
  });

  it("refuses to connect where nothing listens, with ConnectionRefusedError", async () => {
    const { path, address } = fresh();
    expect((await rejection(fifoTransport.connect(address, { timeout: 10_000 }))).code).toBe("IPC_ERR_CONNECTION_REFUSED");
    // The files of a dead listener: nobody reads .in.
    mkfifo(`${path}.in`);
    mkfifo(`${path}.out`);
    writeFileSync(`${path}.lock`, "");
    expect((await rejection(fifoTransport.connect(address, { timeout: 10_000 }))).code).toBe("IPC_ERR_CONNECTION_REFUSED");
  });

  it.skipIf(!hasPython)(
    `a python3 client written from docs/wire.md exchanges messages${hasPython ? "" : " (skipped: python3 is not installed)"}`,
    { timeout: 30_000 },
    async () => {
      const { path, address } = fresh();
      const listener = await echoServer(address);
      try {
        const { stdout } = await run("python3", [fixture("fifo_client.py"), path, "hello", "", "fifo"], { timeout: 20_000 });
        expect(JSON.parse(stdout)).toEqual({ replies: ["hello", "", "fifo"], clean_end: true });
      } finally {
        await listener.close();
      }
    },
  );
});
