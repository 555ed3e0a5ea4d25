/**
 * Pub/sub over a Unix socket: subscribers by exact topic and by prefix, a late joiner that asks for history,
 * and a slow subscriber under the `drop-oldest` policy — its queue stays bounded and it learns how many
 * messages it missed (docs/guide.md#slow-subscribers).
 *
 *   pnpm example channels-pubsub
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { publisher, subscribe } from "@ipc/channels";
import { connect, listen } from "@ipc/unix";

const dir = mkdtempSync(join(tmpdir(), "channels-pubsub-"));
const text = new TextEncoder();
const read = new TextDecoder();
// 8 KiB messages: enough of them overflow what the socket and the connections buffer for the slow one.
const encode = (s: string) => {
  const message = new Uint8Array(8192);
  text.encodeInto(s, message);
  return message;
};
const decode = (message: Uint8Array) => read.decode(message.subarray(0, message.indexOf(0)));
const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
};
try {
  const listener = await listen(`unix://${join(dir, "prices.sock")}`);
  const prices = publisher(listener, { policy: "drop-oldest", queueMessages: 16, history: 3 });
  const join_ = async (options: Parameters<typeof subscribe>[1]) => subscribe(await connect(listener.address, { timeout: 5000 }), options);

  const eur = await join_({ topics: ["price.EUR"] });
  const all = await join_({ prefixes: ["price."] });
  const slow = await join_({ prefixes: ["price."] });
  await until(() => prices.stats.perSubscriber.filter((s) => s.topics.length + s.prefixes.length > 0).length === 3);

  // The fast subscribers read as messages come; the slow one does not read at all for now.
  const readAll = async (s: typeof eur, count: number) => {
    const got: string[] = [];
    while (got.length < count) got.push(decode((await s.receive({ timeout: 5000 }))!.message));
    return got;
  };
  const eurReading = readAll(eur, 500);
  let taken = 0;
  const allReading = (async () => {
    while (taken < 1000) {
      await all.receive({ timeout: 5000 });
      taken++;
    }
  })();
  for (let i = 0; i < 500; i++) {
    await until(() => taken >= 2 * i - 8); // keep pace with the fast subscriber
    await prices.publish("price.EUR", encode(`EUR ${i}`));
    await prices.publish("price.USD", encode(`USD ${i}`));
  }
  const eurGot = await eurReading;
  await allReading;
  console.log(`[eur]  ${eurGot.length} messages, first "${eurGot[0]}", last "${eurGot.at(-1)}"`);
  console.log(`[all]  ${taken} messages (both topics)`);
  const queued = Math.max(...prices.stats.perSubscriber.map((s) => s.queued));
  console.log(`[pub]  the slow subscriber's queue holds ${queued} messages (queueMessages: 16); ${prices.stats.dropped} dropped for it`);

  let received = 0;
  let dropped = 0;
  let last = "";
  while (last !== "USD 499") {
    const p = (await slow.receive({ timeout: 5000 }))!;
    received++;
    dropped += p.dropped;
    last = decode(p.message);
  }
  console.log(`[slow] ${received} messages received, ${dropped} reported dropped, ${received + dropped} in all`);

  const late = await join_({ topics: ["price.USD"], history: 3 });
  console.log(`[late] history: ${(await readAll(late, 3)).join(", ")}`);
  await prices.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log("done");
