import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, realpathSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mkfifo, openFifoReader, openFifoWriter } from "../../src/index.js";
import { dist, rejection, tempDir, until } from "../helpers.js";

const dir = tempDir("fifo");
let serial = 0;
const fresh = (): string => join(dir, `f${++serial}`);

function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
  return once(stream, "end").then(() => text);
}

describe("mkfifo()", () => {
  it("creates a FIFO with exactly the mode asked (0600 by default), whatever the umask", () => {
    const path = fresh();
    mkfifo(path);
    expect(statSync(path).isFIFO()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const shared = fresh();
    const umask = process.umask(0o077);
    try {
      mkfifo(shared, 0o660);
    } finally {
      process.umask(umask);
    }
    expect(statSync(shared).mode & 0o777).toBe(0o660);
  });

  it("throws AddressInUseError on an existing path and InvalidArgumentError in a missing directory", () => {
    const path = fresh();
    writeFileSync(path, "");
    expect(() => mkfifo(path)).toThrowError(expect.objectContaining({ code: "IPC_ERR_ADDRESS_IN_USE" }));
    expect(() => mkfifo(join(dir, "missing", "f"))).toThrowError(expect.objectContaining({ code: "IPC_ERR_INVALID_ARGUMENT" }));
    expect(() => mkfifo(fresh(), 0o10000)).toThrowError(expect.objectContaining({ code: "IPC_ERR_INVALID_ARGUMENT" }));
  });

  it("throws PermissionDeniedError where the process may not write", () => {
    // Run as an unprivileged user (root may write anywhere), in a directory only root may write to.
    const locked = join(dir, "locked");
    mkdirSync(locked, { mode: 0o755 });
    // As root, the child loads the package and its native part (a FIFO it may create) while it can still
    // read the checkout, then becomes nobody.
    const warmUp = JSON.stringify(fresh());
    const drop = process.getuid!() === 0 ? "process.setgid(65534); process.setuid(65534);" : "";
    const script = `import(${JSON.stringify(dist)}).then((m) => { m.mkfifo(${warmUp}); ${drop} try { m.mkfifo(${JSON.stringify(join(locked, "f"))}); console.log("created"); } catch (e) { console.log(e.code); } })`;
    const result = spawnSync(process.execPath, ["-e", script]);
    expect(result.stdout.toString().trim()).toBe("IPC_ERR_PERMISSION_DENIED");
  });
});

describe("openFifoReader() and openFifoWriter()", () => {
  it("a reader opened before any writer waits for one, then reads until the last writer closes", async () => {
    const path = fresh();
    mkfifo(path);
    const reader = openFifoReader(path);
    const text = readAll(reader);
    // The writer is another process, opening with a plain blocking open(2).
    const writer = spawn("sh", ["-c", `printf 'hello from a shell' > ${path}`]);
    expect(await text).toBe("hello from a shell");
    await once(writer, "exit");
  });

  it("holds no threadpool thread: with the only one blocked, FIFOs are still opened, read and written", { timeout: 30_000 }, async () => {
    // The child blocks its single libuv threadpool thread in a read that only this test's FIFO exchange
    // can release. If FIFO I/O needed that thread, the child would hang.
    const blocker = fresh();
    const path = fresh();
    const script = `
      import fs from "node:fs";
      const m = await import(${JSON.stringify(dist)});
      m.mkfifo(${JSON.stringify(blocker)});
      m.mkfifo(${JSON.stringify(path)});
      const blockFd = fs.openSync(${JSON.stringify(blocker)}, fs.constants.O_RDWR);
      fs.read(blockFd, Buffer.alloc(1), 0, 1, null, () => console.log("threadpool free again"));
      const reader = m.openFifoReader(${JSON.stringify(path)});
      const writer = await m.openFifoWriter(${JSON.stringify(path)}, { timeout: 5000 });
      reader.once("data", (chunk) => {
        console.log("read " + chunk);
        fs.writeSync(blockFd, "x");
        reader.destroy();
      });
      writer.end("ping");`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, UV_THREADPOOL_SIZE: "1" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const output = readAll(child.stdout);
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(0);
    expect(await output).toBe("read ping\nthreadpool free again\n");
  });

  it("a writer whose reader goes away gets ConnectionResetError (EPIPE), and the process survives", async () => {
    const path = fresh();
    mkfifo(path);
    // The reader: another process that reads one byte and leaves.
    const reader = spawn("sh", ["-c", `head -c 1 ${path} >/dev/null`]);
    const writer = await openFifoWriter(path, { timeout: 10_000 });
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    const failed = new Promise<Error & { code?: string; cause?: { code?: string } }>((resolve) => writer.once("error", resolve));
    const pump = (): void => {
      while (!writer.destroyed && writer.write(chunk));
      if (!writer.destroyed) writer.once("drain", pump);
    };
    pump();
    const error = await failed;
    expect(error.code).toBe("IPC_ERR_CONNECTION_RESET");
    expect(error.cause?.code).toBe("EPIPE");
    await once(reader, "exit");
  });

  it("openFifoWriter waits for a reader, and rejects with TimeoutError / AbortError when none comes", async () => {
    const path = fresh();
    mkfifo(path);
    expect((await rejection(openFifoWriter(path, { timeout: 100 }))).code).toBe("IPC_ERR_TIMEOUT");
    const controller = new AbortController();
    const waiting = openFifoWriter(path, { signal: controller.signal });
    controller.abort(new Error("stop"));
    expect((await rejection(waiting)).code).toBe("IPC_ERR_ABORTED");
    const opening = openFifoWriter(path, { timeout: 10_000 });
    const reader = openFifoReader(path);
    const writer = await opening;
    const text = readAll(reader);
    writer.end("late reader");
    expect(await text).toBe("late reader");
  });

  it("keepOpen: the reader lives on while writers come and go", async () => {
    const path = fresh();
    mkfifo(path);
    const reader = openFifoReader(path, { keepOpen: true });
    let text = "";
    let ended = false;
    reader.on("data", (chunk: Buffer) => (text += chunk.toString()));
    reader.on("end", () => (ended = true));
    for (const word of ["one ", "two ", "three"]) {
      const writer = await openFifoWriter(path, { timeout: 10_000 });
      writer.end(word);
      await once(writer, "close");
    }
    await until(() => text === "one two three");
    expect(ended).toBe(false);
    reader.destroy();
  });

  it("refuses what is not a FIFO, and a missing path, with InvalidArgumentError", async () => {
    const file = fresh();
    writeFileSync(file, "plain");
    expect(() => openFifoReader(file)).toThrowError(expect.objectContaining({ code: "IPC_ERR_INVALID_ARGUMENT" }));
    expect(() => openFifoReader(fresh())).toThrowError(expect.objectContaining({ code: "IPC_ERR_INVALID_ARGUMENT" }));
    expect((await rejection(openFifoWriter(fresh()))).code).toBe("IPC_ERR_INVALID_ARGUMENT");
  });
});

describe("Node's realpath bug (nodejs/node#51142)", () => {
  it("after this package stats a FIFO or socket, require() still resolves symlinks (it would not after a plain fstatSync)", () => {
    // A module reached through a symlink, as pnpm lays packages out: its __filename must be the real path.
    const modules = join(dir, "modules");
    mkdirSync(join(modules, "real"), { recursive: true });
    for (const name of ["first", "after-parent-channel", "after-fifo-reader", "after-fifo-listen"]) {
      writeFileSync(join(modules, "real", `${name}.cjs`), "module.exports = __filename;");
    }
    symlinkSync(join(modules, "real"), join(modules, "link"));
    const fifo = fresh();
    const address = fresh();
    const script = `
      import { createRequire } from "node:module";
      const m = await import(${JSON.stringify(dist)});
      const require = createRequire(${JSON.stringify(dist)});
      const load = (name) => require(${JSON.stringify(join(modules, "link"))} + "/" + name + ".cjs");
      const seen = [load("first")]; // fills the module loader's realpath cache
      m.mkfifo(${JSON.stringify(`${address}.in`)});
      m.mkfifo(${JSON.stringify(`${address}.out`)});
      m.parentChannel(); // fstat of fds 0 and 1: sockets
      seen.push(load("after-parent-channel"));
      m.mkfifo(${JSON.stringify(fifo)});
      m.openFifoReader(${JSON.stringify(fifo)}).destroy(); // fstat of a FIFO
      seen.push(load("after-fifo-reader"));
      const listener = await m.fifoTransport.listen(${JSON.stringify(`fifo://${address}`)}); // lstat of leftover FIFOs
      seen.push(load("after-fifo-listen"));
      await listener.close();
      console.error(JSON.stringify(seen));
      process.exit(0);`;
    const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], { stdio: "pipe", timeout: 20_000 });
    const real = join(realpathSync(modules), "real");
    expect(JSON.parse(result.stderr.toString())).toEqual(
      ["first", "after-parent-channel", "after-fifo-reader", "after-fifo-listen"].map((name) => join(real, `${name}.cjs`)),
    );
  });
});
