/**
 * The channel layers between two processes over @ipc/unix: a reliable session and a mux stream, each against
 * the plain @ipc/unix connection it runs over (the baseline, in the same run): 64 B round trip, 64 B
 * one-way message rate, and that rate through the batch path (`sendBatch()` / `receiveBatch()` on the layer
 * against the same calls on the plain connection: `channels-*-batch-64B`, issue 17).
 */
import { join } from "node:path";
import { mux, reliable, reliableListener } from "@ipc/channels";
import type { Connection } from "@ipc/core";
import * as unix from "@ipc/unix";
import type { CaseContext, CaseModule, Group, Metrics } from "../lib/case.js";
import { BATCH, measureBatches, measureMessages, serveBatches, serveMessages } from "../lib/loops.js";
import { exitWithParent } from "../lib/processes.js";

const SMALL = 64;

type Layer = "raw" | "reliable" | "mux";

interface Arg {
  readonly dir: string;
  /** `batch`: a 64 B stream through sendBatch()/receiveBatch(). */
  readonly kind: "rtt" | "stream" | "batch";
}
const parse = (text: string): Arg => JSON.parse(text) as Arg;
const address = (text: string): string => `unix://${join(parse(text).dir, "s.sock")}`;

/** Serves `layer` on a Unix socket: each connection (or session, or stream) echoes or counts. */
async function servePeer(layer: Layer, text: string): Promise<void> {
  exitWithParent();
  const { kind } = parse(text);
  const listener = await unix.listen(address(text));
  process.stdout.write("ready\n");
  const run = (c: Connection): void => void (kind === "batch" ? serveBatches(c) : serveMessages(c, kind)).catch(() => undefined);
  if (layer === "reliable") {
    for await (const session of reliableListener(listener)) run(session);
    return;
  }
  for await (const connection of listener) {
    if (layer === "raw") run(connection);
    else
      void (async () => {
        for await (const stream of mux(connection)) run(stream);
      })().catch(() => undefined);
  }
}

/** The client end of `layer`, and how to let it go. */
async function open(layer: Layer, text: string): Promise<{ connection: Connection; done(): void }> {
  if (layer === "reliable") {
    const session = await reliable(({ signal }) => unix.connect(address(text), { signal }), { timeout: 10_000 });
    return { connection: session, done: () => session.abort() };
  }
  const connection = await unix.connect(address(text), { timeout: 10_000 });
  if (layer === "raw") return { connection, done: () => connection.abort() };
  const streams = mux(connection);
  return { connection: await streams.open("bench", { timeout: 10_000 }), done: () => streams.abort() };
}

const measure =
  (layer: Layer) =>
  async (context: CaseContext): Promise<Metrics> => {
    const { connection, done } = await open(layer, context.arg);
    const { kind } = parse(context.arg);
    try {
      return kind === "batch" ? await measureBatches(connection, SMALL, context.budget) : await measureMessages(connection, kind, SMALL, context.budget);
    } finally {
      done();
    }
  };

const argOf =
  (kind: Arg["kind"]) =>
  (dir: string): string =>
    JSON.stringify({ dir, kind } satisfies Arg);
const RAW = "@ipc/unix connection";

const idOf = (layer: Layer, kind: Arg["kind"]): string => (kind === "batch" ? `channels-${layer}-batch-64B` : `channels-${layer}-${kind}`);

const cases = (["reliable", "mux", "raw"] as const).flatMap((layer) =>
  (["rtt", "stream", "batch"] as const).map((kind) => ({
    id: idOf(layer, kind),
    label: `${layer === "raw" ? RAW : layer === "reliable" ? "reliable()" : "mux() stream"}${kind === "batch" ? `, sendBatch()/receiveBatch() of ${BATCH}` : ""}`,
    run: measure(layer),
    peer: (text: string) => servePeer(layer, text),
    peerArg: argOf(kind),
  })),
);

function group(layer: "reliable" | "mux", kind: Arg["kind"]): Group {
  const what = layer === "reliable" ? "reliable session" : "mux stream";
  const title = kind === "rtt" ? "round trip" : kind === "stream" ? "message rate" : "message rate through the batch path";
  return {
    title: `${what} ${title}, 64 B (over @ipc/unix)`,
    metrics: kind === "rtt" ? ["p50 µs", "p99 µs"] : ["msgs/s"],
    rows: [
      { case: idOf(layer, kind), role: "ours" },
      { case: idOf("raw", kind), role: "baseline" },
    ],
    targets: [
      kind === "rtt"
        ? { metric: "p50 µs", ratio: 1.3, text: "≤ 1.3× the raw connection" }
        : kind === "stream"
          ? { metric: "msgs/s", ratio: 0.6, text: "≥ 0.6× the raw connection" }
          : { metric: "msgs/s", ratio: 0.8, text: "≥ 0.8× the raw connection's batch path (issue 17)" },
    ],
  };
}

export const module: CaseModule = {
  cases: () => cases,
  groups: () => (["reliable", "mux"] as const).flatMap((layer) => (["rtt", "stream", "batch"] as const).map((kind) => group(layer, kind))),
};
