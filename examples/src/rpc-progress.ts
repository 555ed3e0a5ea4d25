/**
 * A server-streaming rpc: a long job in a worker process reports its progress as it goes, and its result
 * at the end. The stream is paced by the caller: a worker never runs ahead of what the caller has read by
 * more than the call's flow-control window.
 *
 *   pnpm example rpc-progress
 */
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { parentChannel, spawnChannel } from "@ipc/pipe";
import { createClient, loadService, protobuf, serve, type ServerStream } from "@ipc/rpc";

const JOBS_PROTO = `
syntax = "proto3";
package jobs;

service Jobs {
  // Hashes \`rounds\` times, reporting progress every tenth of the way; the last message has the result.
  rpc Run (Job) returns (stream Progress);
}

message Job { string input = 1; uint32 rounds = 2; }
message Progress { uint32 percent = 1; string step = 2; string result = 3; }
`;

interface Job {
  input: string;
  rounds: number;
}

interface Progress {
  percent: number;
  step: string;
  result: string;
}

// A handler yields progress without a result until the end: what it yields is a Partial<Progress>.
const Jobs = loadService<{ readonly run: ServerStream<Job, Progress, Job, Partial<Progress>> }>(protobuf.parse(JOBS_PROTO).root, "jobs.Jobs");

if (process.argv[2] === "worker") {
  // The worker serves its parent over an @ipc/pipe channel: its own stdin and stdout.
  const server = serve(parentChannel(), Jobs, {
    run: async function* ({ input, rounds }, { signal }) {
      let digest = input;
      const tenth = Math.max(1, Math.floor(rounds / 10));
      for (let round = 1; round <= rounds; round++) {
        digest = createHash("sha256").update(digest).digest("hex");
        if (round % tenth === 0 && round < rounds) {
          yield { percent: Math.floor((round * 100) / rounds), step: `round ${round} of ${rounds}` };
          // Let the event loop turn: a cancel from the caller is seen here, and ends the job.
          await new Promise((resolve) => setImmediate(resolve));
          signal.throwIfAborted();
        }
      }
      yield { percent: 100, step: "done", result: digest.slice(0, 16) };
    },
  });
  await server.closed;
} else {
  const worker = await spawnChannel(process.execPath, [fileURLToPath(import.meta.url), "worker"], { timeout: 10_000 });
  const client = createClient(Jobs, worker);
  for await (const progress of client.run({ input: "ipc", rounds: 200_000 }, { timeout: 30_000 })) {
    const bar = "#".repeat(progress.percent / 5).padEnd(20, ".");
    const result = progress.result ? `  result ${progress.result}` : "";
    console.log(`[${bar}] ${String(progress.percent).padStart(3)}%  ${progress.step}${result}`);
  }
  // Closing the client closes the channel, which settles once the worker has exited.
  await client.close({ timeout: 5000 });
  console.log(`worker exited with code ${String((await worker.exited).code)}`);
}
