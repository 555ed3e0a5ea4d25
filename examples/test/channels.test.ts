import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const dist = fileURLToPath(new URL("../dist/", import.meta.url));

/** Runs an example as a user would (from its built JavaScript) and returns its stdout. */
async function example(name: string): Promise<string> {
  const file = `${dist}${name}.js`;
  if (!existsSync(file)) throw new Error(`${file} is missing: build the workspace first (pnpm build)`);
  const { stdout } = await run(process.execPath, [file], { timeout: 60_000 });
  return stdout;
}

describe("channel examples run and say what they should", () => {
  it("channels-reliable: every message once and in order, over connections that were cut", { timeout: 90_000 }, async () => {
    const out = await example("channels-reliable");
    expect(out).toMatch(/\[server\] session [0-9a-f]{8}…: 1000 messages, in order, none twice/);
    const [, connections, replayed] = /acknowledged 1000, over (\d+) connections; (\d+) replayed/.exec(out)!;
    expect(Number(connections)).toBeGreaterThanOrEqual(7);
    expect(Number(replayed)).toBeGreaterThan(0);
    expect(out).toMatch(/done\n$/);
  });

  it("channels-mux: a stalled stream holds up neither the calls nor the bulk transfer", { timeout: 90_000 }, async () => {
    const out = await example("channels-mux");
    expect(out).toContain("[client] events: 61 messages of 1 KiB sent, then send() waits");
    for (const i of [1, 2, 3]) expect(out).toContain(`[client] rpc: pong ping ${i}`);
    expect(out).toContain("[server] bulk: 20 MiB received");
    // 61 messages, each costing 1 KiB + 64 bytes of the window (docs/wire.md §8.3).
    expect(out).toContain(`buffered on the server now: ${61 * (1024 + 64)} bytes`);
    expect(out).toMatch(/done\n$/);
  });

  it("channels-pubsub: topics, prefixes, a bounded slow subscriber that learns what it missed, history", { timeout: 90_000 }, async () => {
    const out = await example("channels-pubsub");
    expect(out).toContain(`[eur]  500 messages, first "EUR 0", last "EUR 499"`);
    expect(out).toContain("[all]  1000 messages (both topics)");
    expect(out).toMatch(/queue holds (1[0-6]|[0-9]) messages \(queueMessages: 16\); [1-9]\d* dropped/);
    const [, received, dropped] = /\[slow\] (\d+) messages received, (\d+) reported dropped, 1000 in all/.exec(out)!;
    expect(Number(dropped)).toBeGreaterThan(0);
    expect(Number(received) + Number(dropped)).toBe(1000);
    expect(out).toContain("[late] history: USD 497, USD 498, USD 499");
    expect(out).toMatch(/done\n$/);
  });
});
