import { afterEach, describe, expect, it } from "vitest";
import { Mutex, SeqLock, SharedMemory, struct } from "../src/index.js";
import { child, cleanUp, exited, uniqueName } from "./helpers.js";

afterEach(cleanUp);

describe("Mutex", () => {
  it("keeps a counter exact while 4 processes increment it under the lock", { timeout: 120_000 }, async () => {
    const name = uniqueName("counter");
    using shm = SharedMemory.create({ name, size: 64 });
    const workers = await Promise.all(Array.from({ length: 4 }, () => child("increment", name, ["20000"])));
    const results = await Promise.all(workers.map(exited));
    expect(results.every((r) => r.code === 0)).toBe(true);
    expect(new BigUint64Array(shm.buffer, 8, 1)[0]).toBe(80_000n);
    expect(new Mutex(shm, 0).owner).toBeUndefined();
  });

  it("gives the lock of an owner that died holding it to the next locker, with ownerDied", { timeout: 60_000 }, async () => {
    const name = uniqueName("robust");
    using shm = SharedMemory.create({ name, size: 64 });
    const mutex = new Mutex(shm, 0);
    const holder = await child("lock-and-hang", name, [], "locked");
    expect(mutex.owner).toBe(holder.pid);
    expect(mutex.tryLock()).toBeUndefined();
    const waiting = mutex.lock({ timeout: 30_000 });
    holder.kill("SIGKILL");
    await exited(holder);
    const guard = await waiting;
    expect(guard.ownerDied).toBe(true);
    expect(mutex.owner).toBe(process.pid);
    guard.unlock();
    guard.unlock();
    expect(mutex.owner).toBeUndefined();
    using again = mutex.lockSync();
    expect(again.ownerDied).toBe(false);
  });

  it("lock() waits without blocking the event loop, and times out or aborts", async () => {
    const name = uniqueName("async");
    using shm = SharedMemory.create({ name, size: 64 });
    const mutex = new Mutex(shm, 0);
    const holder = await child("lock-and-hang", name, [], "locked");
    let ticks = 0;
    const ticking = setInterval(() => ticks++, 5);
    // Long enough (200 intervals) that a busy machine, which runs this process only now and then, still
    // turns the event loop several times while the lock waits.
    await expect(mutex.lock({ timeout: 1000 })).rejects.toMatchObject({
      code: "IPC_ERR_TIMEOUT",
      message: expect.stringMatching(new RegExp(`held by thread ${holder.pid}`)),
    });
    clearInterval(ticking);
    expect(ticks).toBeGreaterThan(3); // timers ran while it waited
    await expect(mutex.lock({ signal: AbortSignal.abort("stop") })).rejects.toMatchObject({ code: "IPC_ERR_ABORTED" });
    expect(() => mutex.lockSync({ timeout: 20 })).toThrow(expect.objectContaining({ code: "IPC_ERR_TIMEOUT" }));
  });

  it("refuses an unlock by a thread that does not hold it", () => {
    const name = uniqueName("unlock");
    using shm = SharedMemory.create({ name, size: 64 });
    expect(() => new Mutex(shm, 0).unlock()).toThrow(/the mutex is free/);
    expect(() => new Mutex(shm, 2)).toThrow(/4-byte aligned/);
  });
});

describe("SeqLock", () => {
  const Pair = struct({ a: "u64", b: "u64", pad: "u64" });

  it("gives consistent snapshots while another process writes continuously", { timeout: 60_000 }, async () => {
    const name = uniqueName("seqlock");
    using shm = SharedMemory.create({ name, size: SeqLock.sizeOf(Pair) });
    const lock = new SeqLock(shm, 0, Pair);
    await child("seqlock-writer", name, [], "writing");
    let changes = 0;
    let last = -1n;
    const torn: { a: bigint; b: bigint; pad: bigint }[] = []; // checked once at the end: expect() per read is slow
    // At least 20 000 snapshots, and on until the writer has moved on while this side read: on a busy
    // machine the writer may not be scheduled at all during a fixed number of reads. Between batches the
    // event loop turns, so the test's timeout still guards against a writer that never writes.
    for (let reads = 0; reads < 20_000 || changes < 2; reads++) {
      const snapshot = lock.read();
      if (snapshot.b !== 2n * snapshot.a || snapshot.pad !== snapshot.a) torn.push({ ...snapshot });
      if (snapshot.a !== last) changes++;
      last = snapshot.a;
      if (reads % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(torn).toEqual([]);
    expect(changes).toBeGreaterThan(1); // it did read while the writer moved on
  });

  it("a read times out if the writer died in the middle of an update", { timeout: 60_000 }, async () => {
    const name = uniqueName("seqlock-dead");
    using shm = SharedMemory.create({ name, size: SeqLock.sizeOf(Pair) });
    const lock = new SeqLock(shm, 0, Pair);
    const writer = await child("seqlock-die-mid-write", name, [], "mid-write");
    writer.kill("SIGKILL");
    await exited(writer);
    expect(lock.sequence % 2).toBe(1);
    expect(() => lock.read({ timeout: 30 })).toThrow(expect.objectContaining({ code: "IPC_ERR_TIMEOUT" }));
  });
});
