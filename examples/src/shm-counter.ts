/**
 * Shared memory with a lock (docs/guide.md#locks-that-survive-a-crash): a robust futex mutex instead of a
 * spin lock. Four processes each add 1 to a shared u64 counter 20 000 times under the lock; the final count
 * is exact. Then one process dies holding the lock, and the next locker gets it with `ownerDied`.
 *
 *   pnpm example shm-counter
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Mutex, SharedMemory, struct } from "@ipc/shm";

const Counter = struct({ count: "u64" });
const LOCK = 0;
const DATA = 8; // after the mutex's 8 bytes
const [role, name, times] = process.argv.slice(2);
const run = promisify(execFile);

if (role === "worker") {
  using memory = SharedMemory.open(name!);
  const mutex = new Mutex(memory, LOCK);
  const counter = Counter.view(memory.buffer, DATA);
  for (let i = 0; i < Number(times); i++) {
    using _held = await mutex.lock({ timeout: 10_000 });
    counter.count = counter.count + 1n; // a plain read-modify-write: only the lock makes it safe
  }
} else if (role === "crasher") {
  using memory = SharedMemory.open(name!);
  new Mutex(memory, LOCK).lockSync();
  process.exit(1); // dies holding the lock
} else {
  const name = `ipc-example-counter-${process.pid}`;
  using memory = SharedMemory.create({ name, size: DATA + Counter.size });
  try {
    const workers = 4;
    const each = 20_000;
    await Promise.all(Array.from({ length: workers }, () => run(process.execPath, [process.argv[1]!, "worker", name, String(each)], { timeout: 60_000 })));
    const counter = Counter.view(memory.buffer, DATA);
    console.log(`final count ${counter.count} (expected ${workers * each})`);

    await run(process.execPath, [process.argv[1]!, "crasher", name]).catch(() => undefined);
    const mutex = new Mutex(memory, LOCK);
    using held = await mutex.lock({ timeout: 5000 });
    console.log(`after a holder died: got the lock, ownerDied=${held.ownerDied}`);
  } finally {
    memory.unlink();
  }
}
