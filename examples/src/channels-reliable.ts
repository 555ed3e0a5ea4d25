/**
 * A reliable session over TCP that survives its connection dropping: every message arrives exactly once and
 * in order, however often the connection breaks (here: every 150 messages, on purpose). See
 * docs/guide.md#reliable-delivery.
 *
 *   pnpm example channels-reliable
 */
import { reliable, reliableListener } from "@ipc/channels";
import type { Connection } from "@ipc/core";
import { connect, listen } from "@ipc/tcp";

const count = 1000;

// The server: reliable sessions on the connections a TCP listener accepts.
await using listener = reliableListener(await listen("tcp://127.0.0.1:0"));
console.log(`[server] listening on ${listener.address}`);
const serving = (async () => {
  for await (const session of listener) {
    let next = 0;
    for await (const message of session) {
      const seq = new DataView(message.buffer, message.byteOffset).getUint32(0);
      if (seq !== next) throw new Error(`[server] expected message ${next}, got ${seq}`);
      next++;
    }
    console.log(`[server] session ${session.id.slice(0, 8)}…: ${next} messages, in order, none twice; ${session.stats.duplicates} duplicates dropped`);
  }
})();

// The client: `connect` opens a fresh TCP connection whenever the session needs one. (Pass a plain connect,
// not `{ reconnect }`: the session must see each drop to replay what the server did not get.)
let current: Connection | undefined;
const session = await reliable(async ({ signal }) => (current = await connect(listener.address, { signal, timeout: 2000 })), {
  timeout: 5000,
  minReconnectDelay: 10,
});
for (let seq = 0; seq < count; seq++) {
  const message = new Uint8Array(32);
  new DataView(message.buffer).setUint32(0, seq);
  await session.send(message);
  // Pull the cable every 150 messages: the TCP connection breaks, with the last 50 messages in flight
  // (sent, not yet acknowledged). The session reconnects and replays them.
  if (seq % 150 === 149) current?.abort(new Error("cable pulled"));
  else if (seq % 50 === 49) await session.flush({ timeout: 10_000 });
}
await session.flush({ timeout: 10_000 });
const { sent, acknowledged, connections, replayed } = session.stats;
console.log(`[client] sent ${sent}, acknowledged ${acknowledged}, over ${connections} connections; ${replayed} replayed after drops`);
await session.close({ timeout: 5000 });
await listener.close();
await serving;
console.log("done");
