/** zeromq.js (libzmq through a native addon): a PAIR socket over ipc:// (a Unix socket), as its docs show. */
import { join } from "node:path";
import type { Implementation } from "./impl.js";
import { measureMessages, serveMessages, type MessageEndpoint } from "./message-loops.js";

type Pair = import("zeromq").Pair;

/** A PAIR socket seen as a message endpoint (zeromq frames messages itself). */
function endpoint(socket: Pair): MessageEndpoint {
  return {
    send: (message) => socket.send(message),
    receive: async () => (await socket.receive())[0],
    async *[Symbol.asyncIterator]() {
      for (;;) yield (await socket.receive())[0]!;
    },
  };
}

export const zeromq: Implementation = {
  async peer(spec) {
    const { Pair } = await import("zeromq");
    const socket = new Pair();
    await socket.bind(`ipc://${join(spec.dir, "z.sock")}`);
    process.stdout.write("ready\n");
    await serveMessages(endpoint(socket), spec);
  },

  async run(spec) {
    const { Pair } = await import("zeromq");
    const socket = new Pair({ linger: 0 });
    socket.connect(`ipc://${join(spec.dir, "z.sock")}`);
    try {
      return await measureMessages(endpoint(socket), spec);
    } finally {
      socket.close();
    }
  },
};
