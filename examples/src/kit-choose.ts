/**
 * Choosing an IPC mechanism (docs/guide.md#choosing-a-transport): `choose()` walks a decision tree — across
 * machines? large data or critical latency? parent and child? — and says why, with the numbers `ipc bench`
 * measured. Then `connect()`/`listen()` take whichever URL it picked.
 *
 *   pnpm example kit-choose
 */
import { choose, connect, listen, type Needs } from "@ipc/kit";

const situations: [string, Needs][] = [
  ["a client on another machine", { sameHost: false }],
  ["a worker process this one starts", { parentChild: true }],
  ["two unrelated local services", {}],
  ["video frames of 1 MiB between local processes", { messageSize: 1 << 20 }],
  ["a latency-critical local feed", { latencyCritical: true }],
  ["a Python process started by this one", { parentChild: true, crossLanguage: true }],
];

for (const [what, needs] of situations) {
  const choice = choose(needs);
  console.log(`${what} → ${choice.scheme}: (${choice.example})`);
  for (const reason of choice.reasons) console.log(`    - ${reason}`);
}
console.log(`numbers: ${choose().source}`);

// The choice is a scheme: the same code runs over whichever one it is.
const url = `unix-abstract:kit-choose-${process.pid}`;
await using listener = await listen(url);
void (async () => {
  for await (const connection of listener) for await (const message of connection) await connection.send(message);
})();
await using client = await connect(url, { timeout: 1000 });
await client.send(new TextEncoder().encode("it works"));
console.log(`over ${url}: ${new TextDecoder().decode(await client.receive({ timeout: 1000 }))}`);
