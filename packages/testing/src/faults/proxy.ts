/**
 * Byte-level faults: a proxy between clients and a real server (TCP or Unix socket) that delays, splits
 * and coalesces chunks, stalls, flips bytes, and drops connections (after N bytes, at random, or on
 * request) with a TCP reset. Clients connect to `proxy.address` instead of the server's.
 */
import net from "node:net";
import { InvalidAddressError, parseAddress } from "@ipc/core";
import { draw, flipByte, randomSource, sleep, type Amount } from "./random.js";

/** What the proxy does to the bytes of each connection (both directions). Every fault is off by default. */
export interface ByteFaults {
  /** Seed of the random choices. Default: 1. */
  readonly seed?: number | undefined;
  /** Milliseconds each chunk is held before it is forwarded. Default: 0. */
  readonly delay?: Amount | undefined;
  /** Forwards each chunk in pieces of at most this many bytes, one write each. Default: whole chunks. */
  readonly split?: Amount | undefined;
  /** Milliseconds to gather bytes before forwarding them as one chunk (coalescing writes). Default: 0. */
  readonly coalesce?: number | undefined;
  /** Stops forwarding for `ms` after every `every` chunks. Default: never. */
  readonly stall?: { readonly every: number; readonly ms: number } | undefined;
  /** Resets a connection once this many bytes (both directions) went through. Default: never. */
  readonly dropAfterBytes?: Amount | undefined;
  /** Probability (0–1), per chunk, of resetting the connection. Default: 0. */
  readonly dropProbability?: number | undefined;
  /** Probability (0–1), per chunk, of inverting one of its bytes. Default: 0. */
  readonly flipProbability?: number | undefined;
}

/** A running proxy. */
export interface FaultProxy extends AsyncDisposable {
  /** Where clients connect: `tcp://127.0.0.1:port` or `unix:///path`. */
  readonly address: string;
  /** Connections proxied so far, and how many were dropped by a fault. */
  readonly stats: { connections: number; dropped: number; bytes: number; flipped: number };
  /** Resets every open connection now (a network outage); new ones are still accepted. */
  dropAll(): void;
  /** Stops forwarding in both directions until {@link FaultProxy.resume} (a frozen link). */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

/**
 * Starts a proxy to `target` (`tcp://host:port` or `unix:///path`), listening on `listen` (default: a free
 * port on 127.0.0.1).
 */
export async function faultProxy(target: string, faults: ByteFaults = {}, listen = "tcp://127.0.0.1:0"): Promise<FaultProxy> {
  const to = netAddress(target);
  const pairs = new Set<[net.Socket, net.Socket]>();
  const stats = { connections: 0, dropped: 0, bytes: 0, flipped: 0 };
  let paused: { promise: Promise<void>; resolve(): void } | undefined;
  const server = net.createServer((client) => {
    const n = ++stats.connections;
    const random = randomSource((faults.seed ?? 1) + n * 7919);
    const upstream = net.connect(to);
    // Each piece of a split chunk must leave as its own segment now, not wait behind Nagle for an ACK
    // (40 ms per piece with delayed ACKs). A no-op on Unix sockets.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const link: Link = { random, budget: faults.dropAfterBytes === undefined ? Infinity : draw(faults.dropAfterBytes, random), dropped: false };
    const drop = (): void => {
      if (link.dropped) return;
      link.dropped = true;
      stats.dropped++;
      reset(client, true);
      reset(upstream, true);
    };
    const gate = () => paused?.promise;
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => pairs.delete(pair));
    void forward(client, upstream, faults, link, stats, drop, gate);
    void forward(upstream, client, faults, link, stats, drop, gate);
  });
  const where = netAddress(listen);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(where, resolve);
  });
  const bound = server.address();
  const address = typeof bound === "string" ? `unix://${bound}` : `tcp://127.0.0.1:${bound!.port}`;
  const dropAll = (): void => {
    for (const [client, upstream] of pairs) {
      stats.dropped++;
      reset(client);
      reset(upstream);
    }
    pairs.clear();
  };
  const close = async (): Promise<void> => {
    dropAll();
    paused?.resolve();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    address,
    stats,
    dropAll,
    pause: () => {
      if (paused !== undefined) return;
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      paused = { promise, resolve };
    },
    resume: () => {
      paused?.resolve();
      paused = undefined;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

interface Link {
  readonly random: () => number;
  budget: number;
  dropped: boolean;
}

/** Moves bytes from `from` to `to` through the faults, with backpressure, until either side goes. */
async function forward(
  from: net.Socket,
  to: net.Socket,
  faults: ByteFaults,
  link: Link,
  stats: FaultProxy["stats"],
  drop: () => void,
  gate: () => Promise<void> | undefined,
): Promise<void> {
  let chunks = 0;
  const readable = (): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        from.off("readable", done).off("end", done).off("close", done);
        resolve();
      };
      from.once("readable", done).once("end", done).once("close", done);
    });
  for (;;) {
    if (faults.coalesce) await sleep(faults.coalesce);
    let chunk: Buffer | null = from.read() as Buffer | null;
    if (chunk === null) {
      if (from.readableEnded || from.destroyed || link.dropped) break;
      await readable();
      continue;
    }
    await gate();
    if (link.dropped) return;
    if (faults.delay !== undefined) await sleep(draw(faults.delay, link.random));
    if (faults.stall !== undefined && ++chunks % faults.stall.every === 0) await sleep(faults.stall.ms);
    if ((faults.dropProbability ?? 0) > 0 && link.random() < faults.dropProbability!) return drop();
    if ((faults.flipProbability ?? 0) > 0 && link.random() < faults.flipProbability!) {
      chunk = Buffer.from(flipByte(chunk, link.random));
      stats.flipped++;
    }
    if (chunk.byteLength >= link.budget) {
      await write(to, chunk.subarray(0, link.budget));
      return drop();
    }
    link.budget -= chunk.byteLength;
    stats.bytes += chunk.byteLength;
    if (faults.split === undefined) await write(to, chunk);
    else {
      for (let at = 0; at < chunk.byteLength; ) {
        const size = Math.max(1, draw(faults.split, link.random));
        await write(to, chunk.subarray(at, at + size));
        at += size;
        // A turn of the event loop between pieces, so that each is its own write on the socket.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    if (link.dropped) return;
  }
  if (!link.dropped && from.readableEnded) to.end();
}

/**
 * Breaks a connection: a TCP socket with a reset (RST), so its peer gets ECONNRESET. A Unix socket has no
 * reset (Node's `resetAndDestroy()` throws for it): it is closed instead, and its peer sees the end of the
 * stream — at once, or with `flush` once the bytes already forwarded to it are written (a socket still
 * connecting holds them until it connects).
 */
function reset(socket: net.Socket, flush = false): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    if (flush) socket.destroySoon();
    else socket.destroy();
  }
}

function write(to: net.Socket, bytes: Uint8Array): Promise<void> {
  if (to.destroyed || bytes.byteLength === 0) return Promise.resolve();
  if (to.write(bytes)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      to.off("drain", done).off("close", done);
      resolve();
    };
    to.once("drain", done).once("close", done);
  });
}

function netAddress(url: string): net.ListenOptions & net.NetConnectOpts {
  const address = parseAddress(url);
  if (address.scheme === "tcp") return { host: address.host, port: address.port };
  if (address.scheme === "unix") return { path: address.path };
  throw new InvalidAddressError(`faultProxy() proxies tcp:// and unix:// addresses, not ${url}`);
}
