/**
 * A ring buffer in shared memory (docs/guide.md#the-message-ring-and-futex-wake-ups) — of whole messages,
 * correct across processes: a producer process writes 200 000 numbered messages of varying size (some longer
 * than the ring, sent in chunks); this process reads them, checks every one, and learns the end. Waiting
 * sides spin briefly, then sleep on a futex, so neither burns a core when the other is slow.
 *
 *   pnpm example shm-ring
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { MessageRing } from "@ipc/shm";

const [role, name] = process.argv.slice(2);
const COUNT = 200_000;

/** Message n is 4 + lengthOf(n) bytes: its number, then bytes n & 0xff (every 10 000th longer than the ring). */
const lengthOf = (n: number): number => (n % 10_000 === 0 ? 100 * 1024 : n % 200);

function messageOf(n: number): Uint8Array {
  const message = new Uint8Array(4 + lengthOf(n)).fill(n & 0xff);
  new DataView(message.buffer).setUint32(0, n, true);
  return message;
}

if (role === "producer") {
  using ring = MessageRing.open(name!);
  for (let n = 0; n < COUNT; n++) {
    const message = messageOf(n);
    if (message.byteLength > ring.maxRecord || !ring.tryWrite(message)) await ring.write(message, { timeout: 10_000 });
  }
  await ring.finish({ timeout: 10_000 });
} else {
  const name = `ipc-example-ring-${process.pid}`;
  using ring = MessageRing.create({ name, capacity: 64 * 1024 });
  try {
    const producer = promisify(execFile)(process.execPath, [process.argv[1]!, "producer", name], { timeout: 60_000 });
    let received = 0;
    let bytes = 0;
    for (let message; (message = await ring.read({ timeout: 10_000, maxMessageSize: 1 << 20 })) !== undefined; received++) {
      const n = new DataView(message.buffer, message.byteOffset).getUint32(0, true);
      const last = message.byteLength > 4 ? message[message.byteLength - 1] : received & 0xff;
      if (n !== received || message.byteLength !== 4 + lengthOf(n) || last !== (received & 0xff)) {
        throw new Error(`message ${received} arrived wrong (number ${n}, ${message.byteLength} bytes)`);
      }
      bytes += message.byteLength;
    }
    await producer;
    console.log(`received ${received} messages (${(bytes / 1e6).toFixed(1)} MB) in order, every one intact, then the end`);
  } finally {
    ring.memory!.unlink();
  }
}
