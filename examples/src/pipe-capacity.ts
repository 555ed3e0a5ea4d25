/**
 * Pipe capacity and the deadlock it causes (docs/guide.md#pipe-capacity-and-the-deadlock): a pipe holds
 * 64 KiB by default on Linux; it can be raised to /proc/sys/fs/pipe-max-size (1 MiB) without privileges. A
 * parent that writes a large input before reading the output deadlocks once both pipes are full; run() reads
 * while it writes.
 *
 *   pnpm example pipe-capacity
 */
import { closeSync } from "node:fs";
import { isIpcError } from "@ipc/core";
import { createPipe, maxPipeCapacity, pipeCapacity, run, setPipeCapacity } from "@ipc/pipe";

const { readFd, writeFd } = createPipe();
try {
  console.log(`default pipe capacity: ${pipeCapacity(writeFd)} bytes`);
  console.log(`after asking for 100 000 bytes: ${setPipeCapacity(writeFd, 100_000)} bytes (rounded up)`);
  console.log(`pipe-max-size: ${maxPipeCapacity()} bytes → ${setPipeCapacity(writeFd, maxPipeCapacity())} bytes`);
  try {
    setPipeCapacity(writeFd, maxPipeCapacity() * 2);
    console.log("above pipe-max-size: allowed (this process has CAP_SYS_RESOURCE)");
  } catch (error) {
    if (!isIpcError(error, "IPC_ERR_PERMISSION_DENIED")) throw error;
    console.log(`above pipe-max-size: ${error.code}`);
  }
} finally {
  closeSync(readFd);
  closeSync(writeFd);
}

// 1 MiB into cat. Then the case that deadlocks a naive parent: 64 MiB in and out at once.
const big = Buffer.alloc(64 * 1024 * 1024, 0x78);
await run("cat", [], { input: big.subarray(0, 1024 * 1024) });
console.log("Successfully wrote all data (1 MiB)");
const { stdout } = await run("cat", [], { input: big, encoding: "buffer" });
console.log(`64 MiB in, ${stdout.byteLength / (1024 * 1024)} MiB out, no deadlock`);
// With pipeCapacity, run() (like pipeline() and spawnChannel()) connects the child by real pipes of that size.
const wide = await run(process.execPath, ["-e", "import('@ipc/pipe').then((m) => console.log(m.pipeCapacity(1)))"], {
  pipeCapacity: 1024 * 1024,
  cwd: new URL(".", import.meta.url),
});
console.log(`a child's stdout with pipeCapacity 1 MiB: ${wide.stdout.trim()} bytes`);
