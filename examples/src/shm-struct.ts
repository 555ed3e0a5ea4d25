/**
 * Shared memory with a structure (docs/guide.md#struct-layouts): a
 * `SharedData { counter: u64, values: [i32; 10], flag: bool }` declared once as a C layout, written here and read by another process — through a
 * seqlock (docs/guide.md#torn-reads-and-the-seqlock), so the reader's snapshot is never half an update even
 * while this process keeps writing.
 *
 *   pnpm example shm-struct
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { SeqLock, SharedMemory, array, struct } from "@ipc/shm";

const SharedData = struct({ counter: "u64", values: array("i32", 10), flag: "bool" }, "shared_data");
const [role, name] = process.argv.slice(2);

if (role === "reader") {
  // Another process: map the segment by name and take consistent snapshots.
  using memory = SharedMemory.open(name!);
  const data = new SeqLock(memory, 0, SharedData);
  const first = data.read();
  console.log(`reader: counter=${first.counter} values=[${first.values.join(", ")}] flag=${first.flag}`);
  let torn = 0;
  for (let i = 0; i < 100_000; i++) {
    const { counter, values } = data.read();
    if (values.some((v, j) => v !== Number(counter % 1000n) + j)) torn++; // every field from the same update?
  }
  console.log(`reader: 100000 snapshots while the writer wrote, ${torn} torn`);
} else {
  const name = `ipc-example-struct-${process.pid}`;
  using memory = SharedMemory.create({ name, size: SeqLock.sizeOf(SharedData) });
  try {
    const data = new SeqLock(memory, 0, SharedData);
    data.write((d) => {
      d.counter = 100n;
      d.values.set([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
      d.flag = true;
    });
    console.log(`writer: ${SharedData.size}-byte struct, as C sees it:\n${SharedData.toC()}`);
    const reader = promisify(execFile)(process.execPath, [process.argv[1]!, "reader", name], { timeout: 30_000 });
    // Keep updating while the reader reads: every update keeps values[j] = counter % 1000 + j.
    let writing = true;
    void reader.finally(() => (writing = false));
    for (let counter = 101n; writing; counter++) {
      data.write((d) => {
        d.counter = counter;
        for (let j = 0; j < 10; j++) d.values[j] = Number(counter % 1000n) + j;
      });
      if (counter % 1000n === 0n) await new Promise((resolve) => setImmediate(resolve));
    }
    process.stdout.write((await reader).stdout);
  } finally {
    memory.unlink();
  }
}
