/**
 * Reliable delivery (docs/guide.md#reliable-delivery): number each message, keep it until the peer
 * acknowledges it, and send again what was not acknowledged when a connection breaks. A connection already
 * delivers in order while it lives; what it cannot promise is what happened to the messages in flight when it
 * died — that is what the acknowledgements are for. Here the first connection is cut mid-stream and nothing
 * is lost.
 *
 *   pnpm example kit-reliable
 */
import { connect, listen, type Connection } from "@ipc/kit";

const url = `unix-abstract:kit-reliable-${process.pid}`;
const header = (id: number, ack: boolean): Uint8Array => {
  const bytes = new Uint8Array(5);
  new DataView(bytes.buffer).setUint32(0, id);
  bytes[4] = ack ? 1 : 0;
  return bytes;
};

// The receiver: acknowledges every message, delivers each id once, whatever the connection.
const delivered = new Set<number>();
await using listener = await listen(url);
void (async () => {
  for await (const connection of listener) {
    void (async () => {
      for await (const message of connection) {
        const id = new DataView(message.buffer, message.byteOffset).getUint32(0);
        delivered.add(id);
        await connection.send(header(id, true));
      }
    })().catch(() => undefined);
  }
})();

// The sender: keeps what is unacknowledged in `pending`, and resends it on a new connection.
const pending = new Map<number, Uint8Array>();
async function sendAll(connection: Connection, ids: Iterable<number>, cutAfter = Infinity): Promise<void> {
  const acks = (async () => {
    for await (const ack of connection) pending.delete(new DataView(ack.buffer, ack.byteOffset).getUint32(0));
  })().catch(() => undefined);
  let sent = 0;
  for (const id of ids) {
    if (sent++ === cutAfter) {
      connection.abort(); // the connection dies with messages in flight
      break;
    }
    const message = header(id, false);
    pending.set(id, message);
    await connection.send(message);
  }
  if (sent <= cutAfter) await connection.close({ timeout: 2000 });
  await acks;
}

const ids = Array.from({ length: 1000 }, (_, i) => i);
await sendAll(await connect(url), ids, 600);
console.log(`first connection cut after 600 sends: ${pending.size} unacknowledged`);
const unacknowledged = [...pending.keys()];
await sendAll(await connect(url), [...unacknowledged, ...ids.slice(600)]);
console.log(`after resending on a new connection: ${pending.size} unacknowledged, ${delivered.size} of 1000 delivered`);
