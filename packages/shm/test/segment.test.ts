import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { SharedMemory, list, removeStale } from "../src/index.js";
import { child, cleanUp, exited, uniqueName } from "./helpers.js";

const run = promisify(execFile);
afterEach(cleanUp);

describe("SharedMemory", () => {
  it("creates a 0600 segment with a header, which another mapping sees", () => {
    const name = uniqueName("create");
    using shm = SharedMemory.create({ name, size: 4096 });
    expect(statSync(`/dev/shm/${name}`).mode & 0o777).toBe(0o600);
    expect(shm.size).toBe(4096);
    expect(shm.header).toMatchObject({ version: 1, kind: 0, creatorPid: process.pid, dataSize: 4096 });
    new Uint8Array(shm.buffer).set([1, 2, 3], 100);
    using other = SharedMemory.open(name);
    expect([...new Uint8Array(other.buffer, 100, 3)]).toEqual([1, 2, 3]);
  });

  it("refuses an existing name with AlreadyExistsError and a missing one with NotFoundError", () => {
    const name = uniqueName("exists");
    using _shm = SharedMemory.create({ name, size: 10 });
    expect(() => SharedMemory.create({ name, size: 10 })).toThrow(expect.objectContaining({ code: "IPC_ERR_ALREADY_EXISTS" }));
    expect(() => SharedMemory.open(uniqueName("missing"))).toThrow(expect.objectContaining({ code: "IPC_ERR_NOT_FOUND" }));
  });

  it.each(["a/b", "", "..", "x".repeat(256), "sp ace"])("rejects the name %j", (name) => {
    expect(() => SharedMemory.create({ name, size: 10 })).toThrow(expect.objectContaining({ code: "IPC_ERR_INVALID_ADDRESS" }));
  });

  it("after close(), buffer throws ClosedError and old views read zeros instead of crashing", () => {
    const name = uniqueName("close");
    const shm = SharedMemory.create({ name, size: 64 });
    const bytes = new Uint8Array(shm.buffer);
    bytes[0] = 7;
    shm.close();
    shm.close();
    expect(() => shm.buffer).toThrow(expect.objectContaining({ code: "IPC_ERR_CLOSED" }));
    expect(bytes[0]).toBe(0);
    bytes[1] = 5; // lands in private memory, not in the segment
    using again = SharedMemory.open(name);
    expect([...new Uint8Array(again.buffer, 0, 2)]).toEqual([7, 0]);
  });

  it("readOnly maps copy-on-write: it sees others' writes, and its own writes stay its own", () => {
    const name = uniqueName("readonly");
    using writer = SharedMemory.create({ name, size: 8192 });
    using reader = SharedMemory.open(name, { readOnly: true });
    new Uint8Array(writer.buffer)[5000] = 9;
    expect(new Uint8Array(reader.buffer)[5000]).toBe(9);
    new Uint8Array(reader.buffer)[10] = 1;
    expect(new Uint8Array(writer.buffer)[10]).toBe(0);
    expect(reader.readOnly).toBe(true);
  });

  it("is visible to Python's multiprocessing.shared_memory under the same name, both ways", async () => {
    const name = uniqueName("python");
    using shm = SharedMemory.create({ name, size: 256 });
    new Uint8Array(shm.buffer).set([10, 20, 30]);
    const script = [
      "import sys",
      "from multiprocessing import shared_memory, resource_tracker",
      "m = shared_memory.SharedMemory(name=sys.argv[1])",
      "resource_tracker.unregister(m._name, 'shared_memory')  # ours to remove, not Python's",
      "data = m.buf[64:67].tobytes()",
      "m.buf[64 + 3] = 40",
      "print(data.hex(), bytes(m.buf[0:7]).decode(), m.size)",
      "m.close()",
    ].join("\n");
    const { stdout } = await run("python3", ["-c", script, name]);
    expect(stdout.trim()).toBe(`0a141e IPC-SHM ${64 + 256}`);
    expect(new Uint8Array(shm.buffer)[3]).toBe(40);
  });

  it("opens a segment another program made, without our header, as raw bytes", async () => {
    const name = uniqueName("foreign");
    await run("python3", [
      "-c",
      "import sys\nfrom multiprocessing import shared_memory, resource_tracker\nm = shared_memory.SharedMemory(name=sys.argv[1], create=True, size=100)\nresource_tracker.unregister(m._name, 'shared_memory')\nm.buf[0] = 77\nm.close()",
      name,
    ]);
    using shm = SharedMemory.open(name);
    expect(shm.header).toBeUndefined();
    expect(shm.size).toBeGreaterThanOrEqual(100);
    expect(new Uint8Array(shm.buffer)[0]).toBe(77);
  });
});

describe("list() and removeStale()", () => {
  it("lists our segments with their creator, and removes those of dead creators that nobody maps", async () => {
    const stale = uniqueName("stale");
    const inUse = uniqueName("in-use");
    // Segments made by a process that is then killed: their names leak in /dev/shm.
    await run(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { SharedMemory } from "@ipc/shm"; SharedMemory.create({ name: "${stale}", size: 10 }); SharedMemory.create({ name: "${inUse}", size: 10 }); process.kill(process.pid, "SIGKILL");`,
      ],
      { cwd: new URL("..", import.meta.url).pathname },
    ).catch(() => undefined);
    const holder = await child("hold", inUse, [], "mapped"); // someone still maps this one
    const mine = uniqueName("mine");
    using _mine = SharedMemory.create({ name: mine, size: 10 });

    const segments = new Map(list().map((s) => [s.name, s]));
    expect(segments.get(stale)).toMatchObject({ creatorAlive: false, mappedBy: [] });
    expect(segments.get(inUse)).toMatchObject({ creatorAlive: false, mappedBy: [holder.pid] });
    expect(segments.get(mine)).toMatchObject({ creatorAlive: true, creatorPid: process.pid });

    const removed = removeStale();
    expect(removed).toContain(stale);
    expect(removed).not.toContain(inUse);
    expect(removed).not.toContain(mine);
    expect(existsSync(`/dev/shm/${stale}`)).toBe(false);
    expect(existsSync(`/dev/shm/${inUse}`)).toBe(true);
    holder.kill("SIGKILL");
    await exited(holder);
  });
});

describe("loading the native part", () => {
  // nodejs/node#51142: after a non-bigint sync stat of a socket or FIFO, Node's module loader stops
  // resolving pnpm's symlinks, and koffi, loaded lazily at that moment, would not find its binary.
  it("works in a process whose last stat was of a socket file (Node's realpath bug)", async () => {
    const name = uniqueName("after-socket-stat");
    const script = `
      import { lstatSync, mkdtempSync, rmSync } from "node:fs";
      import { tmpdir } from "node:os";
      import { join } from "node:path";
      import { listen } from "@ipc/unix";
      import { SharedMemory } from "@ipc/shm";
      const dir = mkdtempSync(join(tmpdir(), "ipc-stat-"));
      const listener = await listen(join(dir, "s.sock")); // loads koffi through one package
      const isSocket = lstatSync(join(dir, "s.sock")).isSocket(); // the trigger
      const memory = SharedMemory.create({ name: "${name}", size: 64 }); // loads koffi through another
      console.log(isSocket, memory.size);
      memory.unlink();
      await listener.close();
      rmSync(dir, { recursive: true, force: true });`;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
      cwd: new URL("..", import.meta.url),
      env: { PATH: process.env.PATH },
    }); // (with vitest's environment the bug does not show)
    expect(stdout.trim()).toBe("true 64");
  });
});
