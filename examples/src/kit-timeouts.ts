/**
 * Timeouts (docs/guide.md#timeouts): every wait takes `timeout` (milliseconds) and `signal` (an AbortSignal),
 * and fails with a typed error whose `code` says which — instead of socket-wide timeouts set and unset around
 * each call.
 *
 *   pnpm example kit-timeouts
 */
import { connect, listen, TimeoutError } from "@ipc/kit";

const url = `unix-abstract:kit-timeouts-${process.pid}`;
await using listener = await listen(url);
void (async () => {
  for await (const connection of listener) {
    for await (const message of connection) {
      if (new TextDecoder().decode(message) !== "ignore me") await connection.send(message);
    }
  }
})();
await using client = await connect(url, { timeout: 1000 }); // connecting has its own limit

await client.send(new TextEncoder().encode("ignore me"));
try {
  await client.receive({ timeout: 100 });
} catch (error) {
  console.log(`receive with timeout 100 → ${(error as TimeoutError).code} (${error instanceof TimeoutError ? "TimeoutError" : "?"})`);
}

await client.send(new TextEncoder().encode("answer me"));
console.log(`the connection is still usable: got "${new TextDecoder().decode(await client.receive({ timeout: 1000 }))}"`);

const controller = new AbortController();
setTimeout(() => controller.abort(new Error("the user pressed cancel")), 50);
try {
  await client.receive({ signal: controller.signal });
} catch (error) {
  console.log(`receive with a signal → ${(error as { code: string }).code}, cause: ${((error as Error).cause as Error).message}`);
}

try {
  // Refused at once; the limit is generous so that only a refusal, never a busy machine, ends it.
  await connect(`unix-abstract:kit-timeouts-nobody-${process.pid}`, { timeout: 5000 });
} catch (error) {
  console.log(`connect to nobody → ${(error as { code: string }).code}`);
}
