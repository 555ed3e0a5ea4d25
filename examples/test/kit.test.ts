import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { REFERENCE_MEASUREMENTS, SHM_MARGIN } from "@ipc/kit";

const run = promisify(execFile);
const dist = fileURLToPath(new URL("../dist/", import.meta.url));

/** Runs an example as a user would (from its built JavaScript) and returns its stdout. */
async function example(name: string): Promise<string> {
  const file = `${dist}${name}.js`;
  if (!existsSync(file)) throw new Error(`${file} is missing: build the workspace first (pnpm build)`);
  const { stdout } = await run(process.execPath, [file], { timeout: 60_000 });
  return stdout;
}

describe("kit examples run and say what they should", () => {
  it("kit-choose: the decision tree with reasons", async () => {
    const out = await example("kit-choose");
    expect(out).toMatch(/^a client on another machine → tcp:/m);
    expect(out).toMatch(/^a worker process this one starts → pipe:/m);
    expect(out).toMatch(/^two unrelated local services → unix:/m);
    // shm or unix: shm where the shipped measurements (packages/kit/measurements.json) found it SHM_MARGIN faster.
    const at = (scheme: "unix" | "shm", size: string) => REFERENCE_MEASUREMENTS.schemes[scheme]?.bySize?.[size];
    const mostData = (at("shm", "1048576")?.bytesPerSecond ?? 0) >= (at("unix", "1048576")?.bytesPerSecond ?? 0) * SHM_MARGIN ? "shm" : "unix";
    const quickest = (at("shm", "64")?.roundTripP50Us ?? Infinity) * SHM_MARGIN <= (at("unix", "64")?.roundTripP50Us ?? Infinity) ? "shm" : "unix";
    expect(out).toMatch(new RegExp(`^video frames of 1 MiB between local processes → ${mostData}:`, "m"));
    expect(out).toMatch(/for messages of 1 MiB it moves the most data: \w+ [\d.]+ MB\/s, \w+ [\d.]+ MB\/s/);
    expect(out).toMatch(new RegExp(`^a latency-critical local feed → ${quickest}:`, "m"));
    expect(out).toMatch(/^a Python process started by this one → pipe:/m);
    expect(out).toMatch(/round trip costs [\d.]+ µs/);
    expect(out).toMatch(/^numbers: @ipc\/bench (full|quick) profile/m);
    expect(out).toMatch(/: it works$/m);
  });

  it("kit-backpressure: a slow reader slows the sender", async () => {
    const out = await example("kit-backpressure");
    expect(out).toContain("to a slow reader, which received 400");
    const ahead = Number(/never more than (\d+) messages ahead/.exec(out)![1]);
    expect(ahead).toBeLessThan(400); // had send() not waited, all 400 would have been ahead
  });

  it("kit-reliable: acknowledgements and resending lose nothing when a connection dies", async () => {
    const out = await example("kit-reliable");
    expect(out).toMatch(/first connection cut after 600 sends: \d+ unacknowledged/);
    expect(out).toContain("after resending on a new connection: 0 unacknowledged, 1000 of 1000 delivered");
  });

  it("kit-timeouts: typed timeouts and cancellation", async () => {
    const out = await example("kit-timeouts");
    expect(out).toContain("receive with timeout 100 → IPC_ERR_TIMEOUT (TimeoutError)");
    expect(out).toContain(`the connection is still usable: got "answer me"`);
    expect(out).toContain("receive with a signal → IPC_ERR_ABORTED, cause: the user pressed cancel");
    expect(out).toContain("connect to nobody → IPC_ERR_CONNECTION_REFUSED");
  });

  it("kit-debugging: a logger and the ipc trace proxy", async () => {
    const out = await example("kit-debugging");
    expect(out).toMatch(/log: connected unix-abstract:kit-debugging-server-\d+/);
    expect(out).toMatch(/log: → unix-abstract:\S+ 6 B/);
    expect(out).toContain("client got: hello through the tracer");
    expect(out).toMatch(/trace: #1 → 24 B {2}hello through the tracer/);
    expect(out).toMatch(/trace: #1 ← 24 B {2}hello through the tracer/);
  });

  it("kit-performance: batching, large messages and connection reuse", async () => {
    const out = await example("kit-performance");
    expect(out).toMatch(/batching: 20 000 sends, 100 per tick: [\d.]+ ms/);
    expect(out).toMatch(/batching: [\d.]+× faster/);
    expect(out).toMatch(/reuse: 200 requests over one connection: [\d.]+ ms/);
    expect(out).toMatch(/zero copy: 25 messages of 4 MiB \(100 MiB\): [\d.]+ ms/);
  });

  it("kit-security: size limits and peer credentials", async () => {
    const out = await example("kit-security");
    expect(out).toContain("socket file mode: 600");
    expect(out).toMatch(/server: accepted pid \d+ uid \d+/);
    expect(out).toContain("that connection ended with IPC_ERR_FRAME_TOO_LARGE");
    expect(out).toContain("hostile client: disconnected by the server");
    expect(out).toContain("client: still served");
    expect(out).toContain("client: sending 4096 bytes over a 1024-byte limit → IPC_ERR_MESSAGE_TOO_LARGE");
  });
});
