/**
 * `handshake: false` (docs/wire.md §2.1): @ipc/unix against peers written without @ipc — a plain
 * length-prefixed echo server and client in child processes (PLAIN_PEER of @ipc/testing, node:net only) —
 * and the status frame's time limit, whose error suggests `handshake: false`.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Connection, Listener } from "@ipc/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connect, listen } from "../src/index.js";
import { PLAIN_PEER } from "@ipc/testing";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ipc-unix-plain-"));
});
/** Where a plain server listens (its address for node:net), and the address @ipc connects to. */
async function place(): Promise<{ plain: object; target: string }> {
  const path = join(dir, "plain.sock");
  return { plain: { path }, target: path };
}

const fixture = PLAIN_PEER;
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (message: Uint8Array | undefined): string => new TextDecoder().decode(message);

const children: ChildProcessWithoutNullStreams[] = [];
const open: (Listener | Connection)[] = [];
const keep = <T extends Listener | Connection>(thing: T): T => (open.push(thing), thing);
afterEach(async () => {
  for (const thing of open.splice(0)) {
    if ("abort" in thing) thing.abort();
    else await thing.close();
  }
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a plain server (role "server": echoes frames; "silent": never writes); resolves with its first line. */
async function plainServer(role: "server" | "silent", address: object): Promise<string> {
  const child = spawn(process.execPath, [fixture, role, JSON.stringify(address)], { stdio: "pipe" });
  children.push(child);
  const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
  return line;
}

/** Like {@link plainServer}, with the server's next lines (one per closed connection) to read. */
async function plainServerLines(role: "server" | "silent", address: object): Promise<() => Promise<string>> {
  const child = spawn(process.execPath, [fixture, role, JSON.stringify(address)], { stdio: "pipe" });
  children.push(child);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const line = await lines.next();
    if (line.done === true) throw new Error("the plain server ended");
    return line.value;
  };
  await next();
  return next;
}

/** Runs the plain client: sends `messages` as frames, half-closes, resolves with the frames it read back. */
async function plainClient(address: object, messages: string[]): Promise<unknown> {
  const child = spawn(process.execPath, [fixture, "client", JSON.stringify(address), ...messages], { stdio: "pipe" });
  children.push(child);
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  await once(child, "exit");
  return JSON.parse(stdout);
}

function echo(listener: Listener): void {
  void (async () => {
    for await (const connection of listener) {
      void (async () => {
        for await (const message of connection) await connection.send(message);
        await connection.close();
      })().catch(() => undefined);
    }
  })();
}

describe("@ipc/unix with handshake: false (plain length-prefixed frames, docs/wire.md §2.1)", () => {
  it("a client with handshake: false talks to a plain echo server in another process, both ways, empty messages too", async () => {
    const { plain, target } = await place();
    await plainServer("server", plain);
    const client = keep(await connect(target, { handshake: false, timeout: 10_000 }));
    for (const message of ["one", "", "three"]) await client.send(bytes(message));
    const echoed = [];
    for (let i = 0; i < 3; i++) echoed.push(text(await client.receive({ timeout: 10_000 })));
    expect(echoed).toEqual(["one", "", "three"]);
    await client.close(); // half-closes; the plain server ends its side in answer
    expect(await client.receive({ timeout: 10_000 })).toBeUndefined();
  });

  it("a listener with handshake: false serves a plain client in another process: no status frame, the echo only", async () => {
    const listener = keep(await listen(join(dir, "ipc.sock"), { handshake: false }));
    echo(listener);
    expect(await plainClient({ path: join(dir, "ipc.sock") }, ["hello", "", "world"])).toEqual(["hello", "", "world"]);
  });

  it("a connection with handshake: false that aborts sends the plain peer nothing but frames: no end reason (docs/wire.md §2.4)", async () => {
    const { plain, target } = await place();
    const lines = await plainServerLines("server", plain);
    const client = await connect(target, { handshake: false, timeout: 10_000 });
    await client.send(bytes("hello"));
    expect(text(await client.receive({ timeout: 10_000 }))).toBe("hello"); // so "hello" was written before the abort
    client.abort(new Error("the application gave up"));
    expect(JSON.parse(await lines())).toEqual(["hello"]);
  });

  it("a listener with handshake: false turns a client away by ending the connection: a plain client reads no frame, just the end", async () => {
    const listener = keep(await listen(join(dir, "ipc.sock"), { handshake: false, authorize: () => false }));
    // The client sends nothing: bytes sent to a listener that turns it away are discarded unread, with a reset.
    expect(await plainClient({ path: join(dir, "ipc.sock") }, [])).toEqual([]);
    const client = keep(await connect(listener.address, { handshake: false, timeout: 10_000 }));
    expect(await client.receive({ timeout: 10_000 })).toBeUndefined();
  });

  it("an @ipc client and listener both with handshake: false talk as usual", async () => {
    const listener = keep(await listen(join(dir, "ipc.sock"), { handshake: false }));
    echo(listener);
    const client = keep(await connect(listener.address, { handshake: false, timeout: 10_000 }));
    await client.send(bytes("plain"));
    expect(text(await client.receive({ timeout: 10_000 }))).toBe("plain");
  });

  it.each([
    ["no timeout", {}],
    ["a longer timeout", { timeout: 600_000 }],
  ])(
    "a client waiting for the status frame of a server that never sends one (%s) fails after handshakeTimeout with a TimeoutError suggesting handshake: false",
    async (_, options) => {
      const { plain, target } = await place();
      await plainServer("silent", plain);
      // A short limit: it is what this test is about, and the server never answers however long we wait.
      await expect(connect(target, { ...options, handshakeTimeout: 200 })).rejects.toMatchObject({
        code: "IPC_ERR_TIMEOUT",
        timeout: 200,
        message: expect.stringMatching(/no status frame from the server within 200 ms.*handshake: false/),
      });
    },
  );

  it("a timeout shorter than handshakeTimeout is the connect's own TimeoutError", async () => {
    const { plain, target } = await place();
    await plainServer("silent", plain);
    await expect(connect(target, { timeout: 200 })).rejects.toMatchObject({
      code: "IPC_ERR_TIMEOUT",
      message: expect.not.stringMatching(/handshake: false/),
    });
  });

  it("rejects a handshake that is not a boolean and a handshakeTimeout that is not > 0, on both sides", async () => {
    const { target } = await place();
    await expect(connect(target, { handshake: "no" as unknown as boolean })).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ARGUMENT" });
    await expect(connect(target, { handshakeTimeout: 0 })).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ARGUMENT" });
    await expect(listen(join(dir, "ipc.sock"), { handshake: 1 as unknown as boolean })).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ARGUMENT" });
  });
});
