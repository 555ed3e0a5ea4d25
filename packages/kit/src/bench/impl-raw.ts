/**
 * The baselines: what raw Node does with the same mechanism — `node:net` on a Unix socket or TCP loopback,
 * and a child's stdio — sending the same 4-byte-length frames with no library in between: one `write()`
 * per message, echoing whole chunks, counting bytes.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { Implementation } from "./impl.js";
import { Sampler, now, rates, warmedStream, type Metrics } from "./measure.js";
import type { CaseSpec } from "./spec.js";

const worker = fileURLToPath(new URL("./worker.js", import.meta.url));

/** The byte a stdio child writes once it runs, so that the clock does not include its start-up. */
const UP = "u";

async function up(stream: Readable): Promise<void> {
  const [chunk] = (await once(stream, "data")) as [Buffer];
  stream.pause();
  if (chunk.byteLength > 1) stream.unshift(chunk.subarray(1));
}

function frame(size: number): Buffer {
  const bytes = Buffer.alloc(4 + size, 0x61);
  bytes.writeUInt32BE(size, 0);
  return bytes;
}

/** The serving side over any byte stream: echo (rtt), or count bytes and answer at the end (stream). */
function serveBytes(input: Readable, output: Writable, spec: CaseSpec): void {
  input.on("error", () => undefined);
  output.on("error", () => undefined);
  if (spec.kind === "rtt") {
    input.on("data", (chunk: Buffer) => output.write(chunk));
    return;
  }
  let bytes = 0;
  input.on("data", (chunk: Buffer) => {
    bytes += chunk.byteLength;
  });
  input.on("end", () => {
    const answer = Buffer.alloc(8);
    answer.writeDoubleLE(bytes, 0);
    output.end(answer);
  });
}

function roundTrips(input: Readable, output: Writable, spec: CaseSpec): Promise<Metrics> {
  const bytes = frame(spec.size);
  const sampler = new Sampler(spec.duration);
  return new Promise((resolve, reject) => {
    let got = 0;
    input.on("error", reject);
    input.on("data", (chunk: Buffer) => {
      got += chunk.byteLength;
      if (got < bytes.byteLength) return;
      got -= bytes.byteLength;
      if (!sampler.end()) return resolve(sampler.result());
      sampler.begin();
      output.write(bytes);
    });
    input.resume(); // paused after the child's first byte
    sampler.begin();
    output.write(bytes);
  });
}

async function stream(input: Readable, output: Writable, spec: CaseSpec): Promise<Metrics> {
  const bytes = frame(spec.size);
  const answer = new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    input.on("data", (chunk: Buffer) => chunks.push(chunk));
    input.on("end", () => resolve(Buffer.concat(chunks)));
    input.on("error", reject);
    input.resume(); // paused after the child's first byte
  });
  const { sent, measured, start } = await warmedStream(spec.duration, spec.size >= 16_384 ? 1 : 64, async (batch) => {
    let ok = true;
    for (let i = 0; i < batch; i++) ok = output.write(bytes);
    if (!ok) await once(output, "drain");
  });
  output.end();
  const received = await answer;
  const took = now() - start;
  const counted = received.byteLength === 8 ? received.readDoubleLE(0) : -1;
  if (counted !== sent * bytes.byteLength) throw new Error(`sent ${sent * bytes.byteLength} bytes, the receiver counted ${counted}`);
  return rates(measured, spec.size, took);
}

function measure(input: Readable, output: Writable, spec: CaseSpec): Promise<Metrics> {
  return spec.kind === "rtt" ? roundTrips(input, output, spec) : stream(input, output, spec);
}

export const raw: Implementation = {
  async peer(spec) {
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.setNoDelay(true);
      serveBytes(socket, socket, spec);
    });
    if (spec.subject === "raw-tcp") {
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
      process.stdout.write(`ready ${(server.address() as net.AddressInfo).port}\n`);
    } else {
      server.listen(join(spec.dir, "s.sock"));
      await once(server, "listening");
      process.stdout.write("ready\n");
    }
  },

  async child(spec) {
    process.stdout.write(UP);
    serveBytes(process.stdin, process.stdout, spec);
    await once(process.stdin, "end");
  },

  async run(spec, ready) {
    if (spec.subject === "raw-stdio") {
      const args = [worker, JSON.stringify({ ...spec, role: "child" })];
      const command = spec.peerCpu === undefined ? [process.execPath, ...args] : ["taskset", "-c", spec.peerCpu, process.execPath, ...args];
      const child = spawn(command[0]!, command.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
      try {
        await up(child.stdout);
        return await measure(child.stdout, child.stdin, spec);
      } finally {
        child.kill("SIGKILL");
      }
    }
    const socket =
      spec.subject === "raw-tcp"
        ? net.connect({ host: "127.0.0.1", port: Number(ready), allowHalfOpen: true })
        : net.connect({ path: join(spec.dir, "s.sock"), allowHalfOpen: true });
    await once(socket, "connect");
    socket.setNoDelay(true);
    try {
      return await measure(socket, socket, spec);
    } finally {
      socket.destroy();
    }
  },
};
