/**
 * 1 000 clients connected at once to one server, 100 round trips each, over @ipc/unix and @ipc/tcp: the rate,
 * and the server's memory at the start, at the busiest, and after every client has gone.
 */
import { join } from "node:path";
import type { Connection, Listener } from "@ipc/core";
import * as tcp from "@ipc/tcp";
import * as unix from "@ipc/unix";
import type { CaseContext, CaseModule, Group, Metrics } from "../lib/case.js";
import { exitWithParent } from "../lib/processes.js";
import { now } from "../lib/stats.js";

type Kind = "unix" | "tcp";

const CLIENTS = 1000;
const ROUND_TRIPS = 100;
/** A backlog for 1 000 clients connecting at once (the default 128 would let the kernel drop some). */
const BACKLOG = 1024;

const rss = (): number => process.memoryUsage().rss / (1024 * 1024);
const dirOf = (text: string): string => (JSON.parse(text) as { dir: string }).dir;

async function listenOn(kind: Kind, dir: string): Promise<Listener> {
  return kind === "unix" ? unix.listen(`unix://${join(dir, "s.sock")}`, { backlog: BACKLOG }) : tcp.listen("tcp://127.0.0.1:0", { backlog: BACKLOG });
}

/** The server: echoes; on a message "rss" answers its RSS at the start, at the busiest, and now (after GC). */
async function server(kind: Kind, text: string): Promise<void> {
  exitWithParent();
  const start = rss();
  let peak = start;
  setInterval(() => (peak = Math.max(peak, rss())), 20).unref();
  const listener = await listenOn(kind, dirOf(text));
  process.stdout.write(`ready ${listener.address}\n`);
  for await (const connection of listener) {
    void (async () => {
      for await (const message of connection) {
        if (message.byteLength === 3 && new TextDecoder().decode(message) === "rss") {
          (globalThis as { gc?: () => void }).gc?.();
          await new Promise((resolve) => setTimeout(resolve, 200));
          await connection.send(new TextEncoder().encode(JSON.stringify({ start, peak, end: rss() })));
        } else {
          await connection.send(message);
        }
      }
      await connection.close();
    })().catch(() => undefined);
  }
}

const connect = (kind: Kind, address: string): Promise<Connection> => (kind === "unix" ? unix.connect(address) : tcp.connect(address));

async function clients(kind: Kind, context: CaseContext): Promise<Metrics> {
  const began = now();
  const all = await Promise.all(Array.from({ length: CLIENTS }, () => connect(kind, context.ready)));
  let failures = 0;
  await Promise.all(
    all.map(async (client, id) => {
      const message = new TextEncoder().encode(`client ${id}`);
      for (let i = 0; i < ROUND_TRIPS; i++) {
        await client.send(message);
        const reply = await client.receive();
        if (reply?.byteLength !== message.byteLength) failures++;
      }
      await client.close();
    }),
  );
  const seconds = (now() - began) / 1e9;
  const probe = await connect(kind, context.ready);
  await probe.send(new TextEncoder().encode("rss"));
  const memory = JSON.parse(new TextDecoder().decode(await probe.receive())) as { start: number; peak: number; end: number };
  probe.abort();
  if (failures > 0) throw new Error(`${failures} round trips came back wrong`);
  return { "round trips/s": (CLIENTS * ROUND_TRIPS) / seconds, "RSS start MiB": memory.start, "RSS peak MiB": memory.peak, "RSS after MiB": memory.end };
}

const TITLE: Record<Kind, string> = { unix: "Unix socket: 1 000 clients × 100 round trips", tcp: "TCP loopback: 1 000 clients × 100 round trips" };
const METRICS = ["round trips/s", "RSS start MiB", "RSS peak MiB", "RSS after MiB"];

export const module: CaseModule = {
  cases: () =>
    (["unix", "tcp"] as const).map((kind) => ({
      id: `${kind}-1000-clients`,
      label: kind === "unix" ? "@ipc/unix" : "@ipc/tcp",
      run: (c: CaseContext) => clients(kind, c),
      peer: (text: string) => server(kind, text),
      // The work is fixed (100 000 round trips); one regime shows what it costs.
      regimes: ["unpinned"] as const,
    })),
  groups: () =>
    (["unix", "tcp"] as const).map((kind): Group => ({ title: TITLE[kind], metrics: METRICS, rows: [{ case: `${kind}-1000-clients`, role: "ours" }] })),
  metrics: {
    "round trips/s": { unit: "k round trips/s", higherIsBetter: true, scale: 1e3 },
    "RSS start MiB": { unit: "MiB RSS at start", higherIsBetter: false },
    "RSS peak MiB": { unit: "MiB RSS at peak", higherIsBetter: false },
    "RSS after MiB": { unit: "MiB RSS after", higherIsBetter: false },
  },
};
