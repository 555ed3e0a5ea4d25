/**
 * A peer written without @ipc, with node:net only: plain length-prefixed frames (docs/wire.md §1), no status
 * frame — what a hand-written echo server or client speaks, for the tests of `handshake: false` (@ipc/unix,
 * @ipc/tcp). {@link PLAIN_PEER} is the program's path, to run as `node PLAIN_PEER <role> <address JSON> …`; its
 * first comment says the roles (server, silent, client) and what each prints.
 */
import { fileURLToPath } from "node:url";

/** The path of the plain peer program (fixtures/plain-peer.mjs of this package). */
export const PLAIN_PEER: string = fileURLToPath(new URL("../fixtures/plain-peer.mjs", import.meta.url));
