/**
 * The scheme table: which transport serves each URL scheme. Built from the transports this package
 * depends on — there is no global registry to add to. Importing a transport module loads no native code:
 * each loads koffi on its first system call.
 */
import { memoryTransport, type Scheme, type Transport } from "@ipc/core";
import { fifoTransport, pipeTransport } from "@ipc/pipe";
import { shmTransport } from "@ipc/shm";
import { tcpTransport } from "@ipc/tcp";
import { unixAbstractTransport, unixTransport } from "@ipc/unix";

/** What each scheme is, in a few words (for `ipc --help`, `choose()` and error messages). */
export const SCHEME_DESCRIPTIONS: Readonly<Record<Scheme, string>> = {
  unix: "Unix domain socket (a socket file): local, peer credentials",
  "unix-abstract": "Unix socket in Linux's abstract namespace (no file)",
  tcp: "TCP (or TLS with the tls option): across machines",
  shm: "shared memory rings, with a Unix socket to meet and wake: the fastest local path",
  fifo: "a pair of named pipes (FIFOs) between unrelated processes",
  pipe: "a child process's stdin/stdout (connect spawns it; listen is the child's side)",
  memory: "in this process only (tests, examples)",
};

/** The transport of every scheme. */
export const transports: Readonly<Record<Scheme, Transport>> = {
  unix: unixTransport as Transport,
  "unix-abstract": unixAbstractTransport as Transport,
  tcp: tcpTransport as Transport,
  shm: shmTransport as Transport,
  fifo: fifoTransport as Transport,
  pipe: pipeTransport as Transport,
  memory: memoryTransport,
};
