import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, expectTypeOf, it } from "vitest";
import {
  SCHEMES,
  connect,
  isViewConnection,
  listen,
  type Connection,
  type ConnectionOf,
  type DebugEvent,
  type KitConnectOptions,
  type KitListenOptions,
  type Listener,
  type pipe,
} from "../src/index.js";

const text = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A fresh temp directory and its removal. */
function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "ipc-kit-test-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Echoes every message of every connection of `listener`. */
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

async function roundTrip(client: Connection, message: string): Promise<string> {
  await client.send(new TextEncoder().encode(message));
  return text(await client.receive({ timeout: 10_000 }));
}

describe("connect() / listen() pick the transport by scheme", () => {
  const name = `kit${process.pid}`;
  const cases: [string, string][] = [
    ["unix", "unix://DIR/a.sock"],
    ["unix-abstract", `unix-abstract:${name}`],
    ["tcp", "tcp://127.0.0.1:0"],
    ["shm", `shm://${name}`],
    ["fifo", "fifo://DIR/f"],
    ["memory", `memory://${name}`],
  ];
  it.each(cases)("%s: a message goes there and back", async (_scheme, template) => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const url = template.replace("DIR", dir);
    const listener = await listen(url);
    cleanups.push(() => listener.close());
    echo(listener);
    const client = await connect(listener.address, { timeout: 10_000 });
    cleanups.push(() => client.abort());
    expect(await roundTrip(client, `hello ${url}`)).toBe(`hello ${url}`);
  });

  it("pipe: spawns a child and talks over its stdio (the child is test/fixtures/pipe-echo.mjs, an echo on listen of pipe:)", async () => {
    const echoer = fileURLToPath(new URL("fixtures/pipe-echo.mjs", import.meta.url));
    const child = await connect(`pipe:${process.execPath}?arg=${encodeURIComponent(echoer)}`, { stderr: "ignore" });
    cleanups.push(() => child.kill("SIGKILL"));
    expect(child.pid).toBeGreaterThan(0);
    expect(await roundTrip(child, "to the child")).toBe("to the child");
  });

  it("covers every scheme @ipc/core knows", () => {
    expect([...cases.map(([s]) => s), "pipe"].sort()).toEqual([...SCHEMES].sort());
  });
});

describe("types (checked by tsc -p test/tsconfig.json)", () => {
  it("connect() resolves with a ChildChannel for a pipe: URL, a Connection otherwise — and for a plain string", () => {
    expectTypeOf<ConnectionOf<"pipe:/bin/cat">>().toEqualTypeOf<pipe.ChildChannel>();
    expectTypeOf<ConnectionOf<"unix:///run/a.sock">>().toEqualTypeOf<Connection>();
    // A string could hold any scheme: what is known is that it is a Connection, not that it has a pid.
    expectTypeOf<ConnectionOf<string>>().toEqualTypeOf<Connection>();
    expectTypeOf(connect<string>).returns.resolves.toEqualTypeOf<Connection>();
  });

  it("options are typed by the URL's scheme", () => {
    expectTypeOf<KitConnectOptions<"tcp://127.0.0.1:1">>().toHaveProperty("tls");
    expectTypeOf<KitConnectOptions<"unix:///a.sock">>().not.toHaveProperty("tls");
    expectTypeOf<KitListenOptions<"shm://a">>().toHaveProperty("ringCapacity");
    expectTypeOf<KitConnectOptions<"pipe:/bin/cat">>().toHaveProperty("stderr");
    expectTypeOf<KitConnectOptions<"memory://a">>().toHaveProperty("logger");
  });
});

describe("bad addresses", () => {
  it("an unknown scheme is an InvalidAddressError", async () => {
    await expect(connect("carrier-pigeon://home")).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ADDRESS" });
    await expect(listen("nope")).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ADDRESS" });
  });

  it("nothing listening is a ConnectionRefusedError", async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    await expect(connect(`unix://${join(dir, "none.sock")}`)).rejects.toMatchObject({ code: "IPC_ERR_CONNECTION_REFUSED" });
  });
});

describe("debug logging", () => {
  it("a logger sees open, each message's size, and close on both sides", async () => {
    const events: DebugEvent[] = [];
    const listener = await listen(`memory://log${process.pid}`, { logger: (e) => events.push(e) });
    cleanups.push(() => listener.close());
    echo(listener);
    const client = await connect(listener.address, { logger: (e) => events.push(e) });
    expect(await roundTrip(client, "12345")).toBe("12345");
    await client.close({ timeout: 5000 });
    const kinds = events.map((e) => e.event);
    expect(kinds).toEqual(expect.arrayContaining(["listen", "connect", "accept", "send", "receive", "close"]));
    expect(events.filter((e) => e.event === "send").map((e) => (e as { bytes: number }).bytes)).toEqual([5, 5]);
  });

  it("a logged connection lends views and batches of views where its transport does, and logs each lent message as a receive", async () => {
    const events: DebugEvent[] = []; // the client's only (on a Unix socket both ends name the same path)
    const log = (e: DebugEvent): void => void events.push(e);
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const listener = await listen(`unix://${join(dir, "views.sock")}`, { logger: () => undefined });
    cleanups.push(() => listener.close());
    echo(listener);
    const client = await connect(listener.address, { logger: log });
    cleanups.push(() => client.abort());
    expect(isViewConnection(client)).toBe(true);
    if (!isViewConnection(client)) return;
    await client.send(new TextEncoder().encode("lent"));
    const view = await client.receiveView({ timeout: 30_000 });
    expect(text(view?.bytes)).toBe("lent");
    view?.release();
    await client.sendBatch([new Uint8Array(3), new Uint8Array(5)]);
    let lent = 0;
    while (lent < 2) {
      const batch = await client.receiveViews({ timeout: 30_000 });
      lent += batch?.count ?? 2;
      batch?.release();
    }
    expect(events.filter((e) => e.event === "receive").map((e) => (e as { bytes: number }).bytes)).toEqual([4, 3, 5]);

    const memoryListener = await listen(`memory://noviews${process.pid}`, { logger: log });
    cleanups.push(() => memoryListener.close());
    const memoryClient = await connect(memoryListener.address, { logger: log });
    cleanups.push(() => memoryClient.abort());
    expect(isViewConnection(memoryClient)).toBe(false); // the proxy adds no receiveView the transport lacks
  });

  it("without a logger or NODE_DEBUG the transport's own connection is returned, unwrapped", async () => {
    const listener = await listen(`memory://plain${process.pid}`);
    cleanups.push(() => listener.close());
    const { memoryTransport } = await import("@ipc/core");
    const client = await connect(listener.address);
    const raw = await memoryTransport.connect(listener.address);
    expect(Object.getPrototypeOf(client)).toBe(Object.getPrototypeOf(raw));
    expect(client.send).toBe(raw.send); // the class method itself: no per-message wrapper
    client.abort();
    raw.abort();
  });

  it("NODE_DEBUG=ipc writes the events to stderr", async () => {
    const kit = fileURLToPath(new URL("../dist/index.js", import.meta.url));
    const script = `const { connect, listen } = await import(${JSON.stringify(kit)});
      const l = await listen("memory://d"); void (async () => { for await (const c of l) for await (const m of c) await c.send(m); })().catch(() => {});
      const c = await connect("memory://d"); await c.send(new Uint8Array(7)); await c.receive(); c.abort(); await l.close();`;
    const { stderr } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, NODE_DEBUG: "ipc" } });
    expect(stderr).toMatch(/IPC \d+: listening on memory:\/\/d/);
    expect(stderr).toMatch(/IPC \d+: → memory:\/\/d 7 B/);
  });
});

describe("importing @ipc/kit", () => {
  it("gives each package's public API and none of the transport author's kit (@ipc/core/transport)", async () => {
    const kit = await import("../src/index.js");
    const internals = Object.keys(await import("@ipc/core/transport"));
    expect(internals).toContain("Inbox");
    expect(internals.filter((name) => name in kit)).toEqual([]);
    expect(kit.nativeSupport().features.length).toBeGreaterThan(0); // @ipc/native's application-facing table
    expect(typeof kit.shm.MessageRing).toBe("function");
  });

  it("loads no koffi until a transport needs it", async () => {
    const kit = fileURLToPath(new URL("../dist/index.js", import.meta.url));
    const script = `import { createRequire } from "node:module";
      const kit = await import(${JSON.stringify(kit)});
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes("koffi")).length;
      const before = loaded();
      kit.shm.SharedMemory.create({ name: "kit-koffi-${process.pid}", size: 64 }).unlink();
      console.log(JSON.stringify({ before, after: loaded(), exports: typeof kit.connect }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script]);
    const { before, after, exports } = JSON.parse(stdout) as { before: number; after: number; exports: string };
    expect(exports).toBe("function");
    expect(before).toBe(0);
    expect(after).toBeGreaterThan(0); // the check itself can see koffi once it is loaded
  });
});
