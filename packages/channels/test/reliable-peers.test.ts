// Reliable sessions over real Unix sockets against peers in other processes that are not @ipc: a program
// written from docs/wire.md alone (fixtures/session-peer.mjs) forges Hellos, resumes as another user, cuts a
// connection inside a frame, and ends its side while the @ipc end is still sending.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Connection, ConnectOptions, Listener, ListenOptions } from "@ipc/core";
import { ipc } from "@ipc/core/proto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { reliable, reliableListener, type ReliableListener, type ReliableListenerOptions, type ReliableSession } from "../src/index.js";

/**
 * @ipc/unix, from its sources. Not a devDependency: @ipc/unix's own tests run the channel layers
 * (its devDependencies include @ipc/channels), and a dependency back would make a workspace cycle.
 */
interface UnixTransport {
  listen(address: string, options?: ListenOptions & { mode?: number }): Promise<Listener>;
  connect(address: string, options?: ConnectOptions): Promise<Connection>;
}
const unix = (await import(new URL("../../unix/src/index.ts", import.meta.url).href)) as UnixTransport;

const PEER = fileURLToPath(new URL("./fixtures/session-peer.mjs", import.meta.url));
const WAIT = { timeout: 20_000 };
const { REASON_PROTOCOL, REASON_SESSION_UNKNOWN } = ipc.Goodbye.Reason;
const isRoot = process.getuid?.() === 0;

let dir: string;
const cleanups: (() => unknown)[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ipc-reliable-peers-"));
  // Another user's process must reach the socket (the uid test): the directory is searchable by all.
  chmodSync(dir, 0o755);
});
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  rmSync(dir, { recursive: true, force: true });
});

interface Peer {
  /** The next JSON line the peer printed (rejects if it exits first). */
  next(): Promise<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
}

/** Runs fixtures/session-peer.mjs with `args`; it is killed at cleanup if still running. */
function peer(...args: string[]): Peer {
  const child: ChildProcess = spawn(process.execPath, [PEER, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    return exited;
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    exited,
    next: async () => {
      const line = await lines.next();
      if (line.done === true) throw new Error(`session-peer.mjs ${args.join(" ")} exited (code ${await exited}) before printing a line`);
      return JSON.parse(line.value) as Record<string, unknown>;
    },
  };
}

/** A reliable listener on a Unix socket anyone may connect to (mode 0666), and its socket's path. */
async function server(options?: ReliableListenerOptions): Promise<{ path: string; listener: ReliableListener }> {
  const path = join(dir, "s.sock");
  const listener = reliableListener(await unix.listen(`unix://${path}`, { mode: 0o666 }), options);
  cleanups.push(() => listener.close());
  return { path, listener };
}

/** A live @ipc session over the Unix socket: the client here, and its server end. */
async function liveSession(address: string, listener: ReliableListener): Promise<{ client: ReliableSession; server: ReliableSession }> {
  const client = await reliable(({ signal }) => unix.connect(address, { signal, ...WAIT }), WAIT);
  cleanups.push(() => client.abort());
  const server = (await listener.accept(WAIT))!;
  cleanups.push(() => server.abort());
  return { client, server };
}

/** Both ends of `live` still carry messages both ways, on the connection they started with. */
async function stillDelivers({ client, server }: { client: ReliableSession; server: ReliableSession }, text: string): Promise<void> {
  await client.send(Buffer.from(`${text} up`));
  expect(Buffer.from((await server.receive(WAIT))!).toString()).toBe(`${text} up`);
  await server.send(Buffer.from(`${text} down`));
  expect(Buffer.from((await client.receive(WAIT))!).toString()).toBe(`${text} down`);
  expect(client.state).toBe("connected");
  expect(client.stats.connections).toBe(1);
  expect(server.stats.connections).toBe(1);
}

describe("reliable sessions: Hellos from other processes", () => {
  it("a forged Hello with a stolen session id and impossible counters gets Goodbye(REASON_PROTOCOL); the live session goes on", async () => {
    const { path, listener } = await server();
    const live = await liveSession(`unix://${path}`, listener);
    await stillDelivers(live, "before");
    // The server sent 1 message: a Hello claiming 1 000 000 of them, or taking more than it holds, is impossible.
    for (const [received, ack] of [
      ["1000000", "0"],
      ["1", "5"],
    ] as const) {
      const forger = peer("hello", path, live.client.id, received, ack);
      const answer = await forger.next();
      expect(answer).toMatchObject({ kind: "goodbye", reason: REASON_PROTOCOL });
      expect(answer.message).toMatch(/claims to hold message 1000000, but only 1 were sent|took message 5, but it holds only 1/);
      expect(await forger.next()).toEqual({ end: true });
      expect(await forger.exited).toBe(0);
    }
    await stillDelivers(live, "after");
    expect(listener.sessions).toBe(1);
  });

  it.skipIf(!isRoot)(
    `a resume from another user (nobody) is refused as an unknown session; the live session goes on${isRoot ? "" : " (skipped: needs root to run a process as nobody)"}`,
    async () => {
      const { path, listener } = await server();
      const live = await liveSession(`unix://${path}`, listener);
      await stillDelivers(live, "before");
      // Counters that the session's own client could send (it holds the 1 message sent, took none): only
      // the user differs.
      const intruder = peer("hello", path, live.client.id, "1", "0", "nobody");
      expect(await intruder.next()).toMatchObject({ kind: "goodbye", reason: REASON_SESSION_UNKNOWN, message: /no such session here/ });
      expect(await intruder.next()).toEqual({ end: true });
      await stillDelivers(live, "after");
    },
  );
});

describe("reliable sessions: a server that is not @ipc", () => {
  it("an impossible Welcome fails reliable() with ProtocolError, and the server is told why (Goodbye REASON_PROTOCOL)", async () => {
    const path = join(dir, "fake.sock");
    const fake = peer("welcome-server", path, "5");
    expect(await fake.next()).toEqual({ ready: true });
    const opening = reliable(({ signal }) => unix.connect(`unix://${path}`, { signal, ...WAIT }), WAIT);
    await expect(opening).rejects.toMatchObject({ code: "IPC_ERR_PROTOCOL", message: /claims to hold message 5, but only 0 were sent/ });
    expect(await fake.next()).toMatchObject({ kind: "goodbye", reason: REASON_PROTOCOL, message: /claims to hold message 5/ });
  });
});

describe("reliable sessions: memory a peer can pin", () => {
  it("frames padded with bytes no message accounts for are charged against the window: the session fails with ProtocolError", async () => {
    const window = 64 * 1024;
    const { path, listener } = await server({ maxBufferedBytes: window });
    // 200 frames of 16 KiB padding around a 1-byte message: 3.2 MiB pinned by 200 unread 1-byte views if only
    // their lengths were counted (200 × 65 bytes, well within the window).
    const padder = peer("pad", path, "200", String(16 * 1024));
    const session = (await listener.accept(WAIT))!;
    cleanups.push(() => session.abort());
    await expect(session.closed).rejects.toMatchObject({ code: "IPC_ERR_PROTOCOL", message: /padding that no message accounts for/ });
    expect(await padder.next()).toMatchObject({ answer: { kind: "goodbye", reason: REASON_PROTOCOL } });
    expect(session.stats.unreadBytes).toBeLessThanOrEqual(window + 17 * 1024);
  });
});

describe("reliable sessions: connections cut inside a frame", () => {
  it("a client's connection cut inside a frame is a lost connection: the session resumes and delivers every message once", async () => {
    const { path, listener } = await server();
    const cutter = peer("cut", path);
    const session = (await listener.accept(WAIT))!;
    cleanups.push(() => session.abort());
    const received: string[] = [];
    for await (const message of session) received.push(Buffer.from(message).toString());
    expect(received).toEqual(["m1", "m2", "m3", "m4"]);
    // The resume's Welcome said that the server holds messages 1 and 2: the cut one was never delivered.
    expect(await cutter.next()).toEqual({ welcome: 2 });
    expect(await cutter.next()).toEqual({ closed: true });
    await expect(session.closed).resolves.toBeUndefined();
    expect(session.stats.connections).toBe(2);
    expect(session.stats.duplicates).toBe(0);
  });

  it("a Welcome cut inside a frame is a lost connection too: the client tries again and resumes", async () => {
    const { path, listener } = await server();
    const cutPath = join(dir, "cut.sock");
    const cutServer = peer("cut-server", cutPath);
    expect(await cutServer.next()).toEqual({ ready: true });
    // The first connection goes to the real server; the second to one that cuts its answer inside a frame;
    // every later one to the real server again.
    let attempts = 0;
    let first: Connection | undefined;
    const client = await reliable(
      async ({ signal }) => {
        attempts++;
        const connection = await unix.connect(`unix://${attempts === 2 ? cutPath : path}`, { signal, ...WAIT });
        first ??= connection;
        return connection;
      },
      { ...WAIT, minReconnectDelay: 0, maxReconnectDelay: 10 },
    );
    cleanups.push(() => client.abort());
    const session = (await listener.accept(WAIT))!;
    cleanups.push(() => session.abort());
    first!.abort(new Error("the cable was pulled"));
    await client.send(Buffer.from("after the cut"));
    expect(Buffer.from((await session.receive(WAIT))!).toString()).toBe("after the cut");
    expect(attempts).toBe(3);
    expect(client.state).toBe("connected");
    expect(client.stats.connections).toBe(2);
  });
});

describe("reliable sessions: the peer's SessionEnd while this side sends", () => {
  it("nothing is lost: every message send() accepted arrives, in order, and send() refuses from then on, in state 'closing'", async () => {
    const { path, listener } = await server();
    const closer = peer("close-early", path, "100");
    const session = (await listener.accept(WAIT))!;
    cleanups.push(() => session.abort());
    let accepted = 0;
    let refusal: { code?: string; message?: string } | undefined;
    let stateAtRefusal: string | undefined;
    // Send until refused: the peer ends its side after the 100th message, while these keep coming.
    for (;;) {
      try {
        await session.send(Buffer.from(`m${accepted + 1}`));
        accepted++;
      } catch (error) {
        refusal = error as typeof refusal;
        stateAtRefusal = session.state;
        break;
      }
    }
    expect(await closer.next()).toEqual({ ended: true });
    expect(refusal).toMatchObject({ code: "IPC_ERR_CLOSED", message: /closed by the peer/ });
    expect(stateAtRefusal).toBe("closing");
    expect(accepted).toBeGreaterThanOrEqual(100);
    // Everything accepted reached the peer, in order, and its SessionEnd says so too.
    expect(await closer.next()).toEqual({ received: accepted, last: accepted, inOrder: true });
    await expect(session.closed).resolves.toBeUndefined();
    expect(session.stats.acknowledged).toBe(accepted);
    expect(await session.receive(WAIT)).toBeUndefined();
  });
});
