/** vscode-jsonrpc (what every LSP server runs on): JSON-RPC requests over a Unix socket, echoing a string. */
import net from "node:net";
import { once } from "node:events";
import { join } from "node:path";
import type { Implementation } from "./impl.js";
import { measureCalls } from "./rpc-loops.js";

async function connectionOver(socket: net.Socket) {
  const rpc = await import("vscode-jsonrpc/node");
  return rpc.createMessageConnection(new rpc.SocketMessageReader(socket), new rpc.SocketMessageWriter(socket));
}

export const jsonRpc: Implementation = {
  async peer(spec) {
    const server = net.createServer((socket) => {
      socket.on("error", () => undefined);
      void connectionOver(socket).then((connection) => {
        connection.onRequest("echo", (data: string) => data);
        connection.listen();
      });
    });
    server.listen(join(spec.dir, "j.sock"));
    await once(server, "listening");
    process.stdout.write("ready\n");
  },

  async run(spec) {
    const socket = net.connect(join(spec.dir, "j.sock"));
    await once(socket, "connect");
    const connection = await connectionOver(socket);
    connection.listen();
    const data = "a".repeat(spec.size);
    try {
      return await measureCalls(spec, () => connection.sendRequest("echo", data));
    } finally {
      connection.dispose();
      socket.destroy();
    }
  },
};
