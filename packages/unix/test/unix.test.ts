import { execFile, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Connection, Listener, Peer } from "@ipc/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connect, listen } from "../src/index.js";
import { checkPlantedLock, checkTakeoverRace } from "./takeover.js";

const run = promisify(execFile);
const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));

let dir: string;
const open: (Listener | Connection)[] = [];
const keep = <T extends Listener | Connection>(thing: T): T => (open.push(thing), thing);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ipc-unix-"));
});
afterEach(async () => {
  for (const thing of open.splice(0)) {
    if ("abort" in thing) thing.abort();
    else await thing.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (message: Uint8Array | undefined): string => new TextDecoder().decode(message);

async function echoOnce(listener: Listener): Promise<void> {
  const server = keep((await listener.accept({ timeout: 10_000 }))!);
  for await (const message of server) await server.send(message);
}

/** Runs the fixture client as another user (it drops to `uid` before connecting); resolves with its report. */
async function clientAs(uid: number, path: string): Promise<{ ok?: boolean; code?: string; message?: string }> {
  const { stdout } = await run(process.execPath, [join(fixtures, "client-as.mjs"), String(uid), path], { timeout: 20_000 });
  return JSON.parse(stdout) as { ok?: boolean; code?: string };
}

describe("binding", () => {
  it("creates the socket file 0600 by default, even with umask 0", async () => {
    const path = join(dir, "a.sock");
    const previous = process.umask(0);
    try {
      keep(await listen(path));
    } finally {
      process.umask(previous);
    }
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it("applies the mode option", async () => {
    const path = join(dir, "shared.sock");
    keep(await listen(path, { mode: 0o660 }));
    expect(statSync(path).mode & 0o777).toBe(0o660);
  });

  it("refuses a world-writable directory without the sticky bit, accepts one with it", async () => {
    const open = join(dir, "open");
    mkdirSync(open);
    chmodSync(open, 0o777);
    await expect(listen(join(open, "s.sock"))).rejects.toMatchObject({
      code: "IPC_ERR_INSECURE_DIRECTORY",
      message: expect.stringMatching(/writable by every user and has no sticky bit/),
    });
    keep(await listen(join(open, "s.sock"), { checkDirectory: false }));
    const sticky = join(dir, "sticky");
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    keep(await listen(join(sticky, "s.sock")));
  });

  it("replaces a stale socket file whose server died", async () => {
    const path = join(dir, "stale.sock");
    // A server that dies without cleaning up leaves its socket file behind.
    const child = spawn(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(path)}, () => console.log("up"))`]);
    await new Promise((resolve) => child.stdout.once("data", resolve));
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    expect(statSync(path).isSocket()).toBe(true);
    const listener = keep(await listen(path));
    const client = keep(await connect(path, { timeout: 5000 }));
    const echoing = echoOnce(listener);
    await client.send(bytes("fresh"));
    expect(text(await client.receive({ timeout: 5000 }))).toBe("fresh");
    await client.close();
    await echoing;
  });

  it("of 12 listen() calls on one stale path, 8 here and 4 in child processes, exactly one listens and the others get AddressInUseError, twice; no lock file is left", async () => {
    await checkTakeoverRace(dir);
  });

  it("never follows a symbolic link planted at the lock file's name: AddressInUseError naming it, nothing created", async () => {
    await checkPlantedLock(dir);
  });

  it("refuses a path where a live server answers, naming it", async () => {
    const path = join(dir, "live.sock");
    keep(await listen(path));
    await expect(listen(path)).rejects.toMatchObject({
      code: "IPC_ERR_ADDRESS_IN_USE",
      message: `socket ${path} is in use by a live server`,
    });
  });

  it("refuses to replace a file that is not a socket", async () => {
    const path = join(dir, "data.txt");
    writeFileSync(path, "precious");
    await expect(listen(path)).rejects.toMatchObject({ code: "IPC_ERR_ADDRESS_IN_USE", message: expect.stringMatching(/is not a socket/) });
    expect(existsSync(path)).toBe(true);
  });

  it("rejects a path over 107 bytes before any system call", async () => {
    const path = join(dir, "x".repeat(120));
    await expect(listen(path)).rejects.toMatchObject({ code: "IPC_ERR_INVALID_ADDRESS", message: expect.stringMatching(/over the Linux limit of 107/) });
    expect(readdirSync(dir)).toEqual([]);
  });

  it("removes the socket file on close, but not a newer server's file at the same path", async () => {
    const path = join(dir, "mine.sock");
    const first = await listen(path);
    await first.close();
    expect(existsSync(path)).toBe(false);

    const old = await listen(path);
    unlinkSync(path); // someone removes it and starts another server there
    const newer = keep(await listen(path));
    await old.close();
    expect(statSync(path).isSocket()).toBe(true);
    const client = keep(await connect(path, { timeout: 5000 }));
    expect((await newer.accept({ timeout: 5000 }))?.peer?.pid).toBe(process.pid);
    expect(client.peer?.pid).toBe(process.pid);
  });

  it("removes the socket file when the process exits normally", async () => {
    const path = join(dir, "exit.sock");
    await run(process.execPath, [join(fixtures, "listen-and-exit.mjs"), path]);
    expect(existsSync(path)).toBe(false);
  });
});

describe("peer credentials and authorization", () => {
  // The clients below run as uid/gid 65534: they must be able to reach the socket.
  const reachable = (): string => {
    chmodSync(dir, 0o755);
    return join(dir, "auth.sock");
  };
  const asRoot = process.getuid?.() === 0;

  it("gives both ends the other's pid, uid and gid", async () => {
    const path = join(dir, "cred.sock");
    const listener = keep(await listen(path));
    const client = keep(await connect(path));
    const server = keep((await listener.accept({ timeout: 5000 }))!);
    const me = { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() };
    expect(server.peer).toEqual(me);
    expect(client.peer).toEqual(me);
  });

  it.skipIf(!asRoot)("refuses a client of another uid with allowUids (skipped: switching uid needs root)", async () => {
    const path = reachable();
    const rejected: [Peer, string][] = [];
    const listener = keep(await listen(path, { mode: 0o666, allowUids: [process.getuid!()], onReject: (peer, reason) => rejected.push([peer, reason]) }));
    expect(await clientAs(65534, path)).toMatchObject({ code: "IPC_ERR_PEER_REJECTED", message: expect.stringMatching(/refused this client: not authorized/) });
    expect(rejected).toHaveLength(1);
    expect(rejected[0]![0]).toMatchObject({ uid: 65534, gid: 65534 });
    expect(rejected[0]![1]).toBe("uid 65534 is not in allowUids");
    // Nothing else is affected: the listener still serves an allowed client.
    const client = keep(await connect(path, { timeout: 5000 }));
    const echoing = echoOnce(listener);
    await client.send(bytes("still here"));
    expect(text(await client.receive({ timeout: 5000 }))).toBe("still here");
    await client.close();
    await echoing;
  });

  it.skipIf(!asRoot)("sameUser, allowGids and authorize() refuse, and accept who they allow (skipped: needs root)", async () => {
    const path = reachable();
    const seen: Peer[] = [];
    const listener = keep(
      await listen(path, {
        mode: 0o666,
        allowGids: [0, 65534],
        authorize: async (peer) => {
          seen.push(peer);
          return peer.uid === 65534;
        },
      }),
    );
    const accepting = listener.accept({ timeout: 10_000 });
    expect(await clientAs(65534, path)).toEqual({ ok: true });
    expect((await accepting)?.peer).toMatchObject({ uid: 65534, gid: 65534 });
    await expect(connect(path, { timeout: 5000 })).rejects.toMatchObject({ code: "IPC_ERR_PEER_REJECTED" });
    expect(seen.map((p) => p.uid)).toEqual([65534, process.getuid!()]);

    const strict = keep(await listen(join(dir, "same.sock"), { mode: 0o666, sameUser: true }));
    expect(await clientAs(65534, join(dir, "same.sock"))).toMatchObject({ code: "IPC_ERR_PEER_REJECTED" });
    keep(await connect(join(dir, "same.sock"), { timeout: 5000 }));
    expect((await strict.accept({ timeout: 5000 }))?.peer?.uid).toBe(process.getuid!());
  });

  it("a throwing authorize() refuses the client and leaves the listener serving", async () => {
    const path = join(dir, "throws.sock");
    let calls = 0;
    const reasons: string[] = [];
    keep(
      await listen(path, {
        authorize: () => {
          if (++calls === 1) throw new Error("database down");
          return true;
        },
        onReject: (_peer, reason) => reasons.push(reason),
      }),
    );
    await expect(connect(path, { timeout: 5000 })).rejects.toMatchObject({ code: "IPC_ERR_PEER_REJECTED" });
    expect(reasons).toEqual(["authorize() threw: database down"]);
    keep(await connect(path, { timeout: 5000 }));
  });

  it("a refused client's bytes are never read: it gets the refusal frame and the end, nothing else", async () => {
    const path = join(dir, "raw.sock");
    const listener = keep(await listen(path, { authorize: () => false }));
    const raw = net.connect(path);
    raw.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])); // a hostile header it never gets to
    const received: Buffer[] = [];
    raw.on("data", (chunk: Buffer) => received.push(chunk));
    await new Promise((resolve) => raw.once("end", resolve));
    raw.destroy();
    const reply = Buffer.concat(received);
    expect(reply.readUInt32BE(0)).toBe(reply.length - 4);
    expect(reply[4]).toBe(0x15);
    expect(reply.subarray(5).toString()).toBe("not authorized");
    await expect(listener.accept({ timeout: 50 })).rejects.toMatchObject({ code: "IPC_ERR_TIMEOUT" });
  });
});

describe("abstract namespace", () => {
  it("listens and connects without a file, with credentials", async () => {
    const name = `ipc-test-${process.pid}-${Date.now()}`;
    const listener = keep(await listen(`unix-abstract:${name}`));
    expect(listener.address).toBe(`unix-abstract:${name}`);
    const client = keep(await connect({ name }, { timeout: 5000 }));
    const server = keep((await listener.accept({ timeout: 5000 }))!);
    expect(server.peer?.pid).toBe(process.pid);
    await client.send(bytes("abstract"));
    expect(text(await server.receive({ timeout: 5000 }))).toBe("abstract");
    await expect(listen({ name })).rejects.toMatchObject({ code: "IPC_ERR_ADDRESS_IN_USE" });
  });
});

describe("resources", () => {
  const fds = (): number => readdirSync("/proc/self/fd").length;

  it("leaks no file descriptor over 5 000 connect/close cycles", { timeout: 120_000 }, async () => {
    const path = join(dir, "cycle.sock");
    const listener = keep(await listen(path));
    // The server's ends, each settled once its socket has closed.
    const serverEnds: Promise<unknown>[] = [];
    const serving = (async () => {
      for await (const connection of listener) {
        serverEnds.push(connection.closed.catch(() => undefined));
        void connection.close();
      }
    })();
    let cycles = 0;
    const cycle = async (): Promise<void> => {
      const client = await connect(path, { timeout: 10_000 });
      await client.close({ timeout: 10_000 });
      cycles++;
    };
    /** Waits until the server has taken every connection made so far and each of its ends has closed. */
    const settled = async (): Promise<void> => {
      while (serverEnds.length < cycles) await new Promise((resolve) => setTimeout(resolve, 5));
      await Promise.all(serverEnds);
    };
    for (let i = 0; i < 50; i++) await cycle(); // warm up whatever Node opens once
    await settled();
    const before = fds();
    for (let i = 0; i < 5000; i++) await cycle();
    await settled();
    // A descriptor is released as its socket's 'close' is emitted; polled (generously: a busy machine), because
    // Node may finish tearing a handle down a tick later. A leak never gets back to `before`, so it still fails.
    await expect.poll(fds, { timeout: 20_000 }).toBe(before);
    await listener.close();
    await serving;
  });

  it("serves 1 000 concurrent clients doing 100 round trips each, without an error", { timeout: 300_000 }, async () => {
    const path = join(dir, "many.sock");
    // The default backlog (128): the 1 000 simultaneous connects overflow the kernel's accept queue, and
    // connect() retries while it is full.
    const listener = keep(await listen(path));
    const serving = (async () => {
      for await (const connection of listener) {
        void (async () => {
          for await (const message of connection) await connection.send(message);
          await connection.close();
        })();
      }
    })();
    const clients = await Promise.all(Array.from({ length: 1000 }, () => connect(path, { timeout: 60_000 })));
    await Promise.all(
      clients.map(async (client, id) => {
        for (let i = 0; i < 100; i++) {
          await client.send(bytes(`${id}:${i}`));
          expect(text(await client.receive({ timeout: 60_000 }))).toBe(`${id}:${i}`);
        }
        await client.close({ timeout: 60_000 });
      }),
    );
    await listener.close();
    await serving;
  });
});
