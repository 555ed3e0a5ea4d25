/** @ipc/rpc: the echo service over a Unix socket, through @ipc/kit's connect() / listen(). */
import { join } from "node:path";
import { DEFAULT_MAX_MESSAGE_SIZE } from "@ipc/core";
import { createClient, loadService, protobuf, serve } from "@ipc/rpc";
import { connect } from "../connect.js";
import { listen } from "../listen.js";
import type { Implementation } from "./impl.js";
import { BENCH_PROTO, measureCalls } from "./rpc-loops.js";

function service() {
  return loadService(protobuf.parse(BENCH_PROTO).root, "ipcbench.Bench");
}

export const ipcRpc: Implementation = {
  async peer(spec) {
    const maxMessageSize = Math.max(DEFAULT_MAX_MESSAGE_SIZE, spec.size + 1024);
    const listener = await listen(`unix://${join(spec.dir, "r.sock")}`, { maxMessageSize });
    serve(listener, service(), { echo: (request: unknown) => request as object });
    process.stdout.write("ready\n");
  },

  async run(spec) {
    const maxMessageSize = Math.max(DEFAULT_MAX_MESSAGE_SIZE, spec.size + 1024);
    const connection = await connect(`unix://${join(spec.dir, "r.sock")}`, { maxMessageSize, timeout: 10_000 });
    const client = createClient(service(), connection);
    const echo = client.echo as (request: { data: Uint8Array }) => Promise<unknown>;
    const data = new Uint8Array(spec.size).fill(0x61);
    try {
      return await measureCalls(spec, () => echo({ data }));
    } finally {
      connection.abort();
    }
  },
};
