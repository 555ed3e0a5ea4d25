/**
 * The shm transport: `listen("shm://name")` / `connect("shm://name")`. A client meets the listener on an
 * @ipc/unix socket (credentials checked there), the listener makes a segment with two rings for the
 * connection and names it, the client maps it, and the name is unlinked at once — from then on only the
 * two processes can reach the memory, and nothing is left in /dev/shm even if both are killed.
 */
import {
  ConnectionRefusedError,
  InvalidArgumentError,
  ProtocolError,
  TimeoutError,
  deadline,
  parseAddressOf,
  throwIfAborted,
  type Connection,
  type Listener,
  type Transport,
} from "@ipc/core";
import { ListenerBase, publishConnect, resolveBacklog, resolveConnectionOptions } from "@ipc/core/transport";
import * as unix from "@ipc/unix";
import { SegmentKind } from "../header.js";
import { requireShm } from "../native.js";
import { MessageRing, ringSize, type Doorbell } from "../ring.js";
import { SharedMemory } from "../segment.js";
import { ShmConnection } from "./connection.js";
import type { ShmConnectOptions, ShmListenOptions } from "./options.js";
import { MAPPED, checkOffer, decodeOffer, encodeOffer, rendezvousOf } from "./protocol.js";

/**
 * Default bytes of each ring: 1 MiB, so 64 KiB messages stream 16 at a time (with 256 KiB, a sleeping
 * side was woken for nearly every one, and throughput fell to a third); 2 MiB of /dev/shm per connection.
 */
export const DEFAULT_RING_CAPACITY = 1 << 20;

/**
 * Default microseconds a waiting side of a connection spins before it sleeps (ShmListenOptions.spin): 50.
 * Measured on the 2-vCPU development machine, unpinned, 64 B round trips for 0.8 s each (issue 17): spin 0
 * p50 82 µs (every wait sleeps and is woken through the doorbell); 5 µs p50 1.22 / p99 106 µs; 10 and 20 µs
 * p50 1.0 / p99 90–100 µs (a reply delayed past the spin — the peer descheduled — costs a doorbell round
 * trip); 50 µs p50 1.0 / p99 9.4 µs; 100 µs p50 1.0 / p99 6.3 µs. Idle round trips (one every 1 ms)
 * measured the same at every spin (150–200 µs p50: the peer sleeps whatever the spin). 50 takes most of
 * the p99 gain for half the burn of 100, and a side whose spins keep missing stops spinning (MessageRing).
 */
export const DEFAULT_SPIN = 50;

function capacityFor(requested: number): number {
  if (!Number.isInteger(requested) || requested < 1 || requested > 2 ** 30) {
    throw new InvalidArgumentError(`ringCapacity must be an integer from 1 to 2^30, got ${requested}`);
  }
  return Math.max(4096, 2 ** Math.ceil(Math.log2(requested)));
}

let serial = 0;

class ShmListener extends ListenerBase {
  readonly address: string;
  readonly #name: string;
  readonly #rendezvous: Listener;
  readonly #options: ShmListenOptions | undefined;
  readonly #capacity: number;
  readonly #maxMessageSize: number;
  readonly #highWaterMark: number;

  constructor(name: string, rendezvous: Listener, options: ShmListenOptions | undefined) {
    super(resolveBacklog(options));
    this.#name = name;
    this.address = `shm://${name}`;
    this.#rendezvous = rendezvous;
    this.#options = options;
    const settings = resolveConnectionOptions(options);
    this.#maxMessageSize = settings.maxMessageSize;
    this.#highWaterMark = settings.highWaterMark;
    this.#capacity = capacityFor(options?.ringCapacity ?? DEFAULT_RING_CAPACITY);
    void this.#acceptLoop();
  }

  protected override release(): Promise<void> {
    return this.#rendezvous.close();
  }

  async #acceptLoop(): Promise<void> {
    for await (const control of this.#rendezvous) void this.#setUp(control);
  }

  /** Makes the connection's segment, offers it, and hands the connection out once the client mapped it. */
  async #setUp(control: Connection): Promise<void> {
    const segment = `${this.#name}.${process.pid}.${++serial}`;
    let memory: SharedMemory | undefined;
    try {
      memory = SharedMemory.create({ name: segment, size: 2 * ringSize(this.#capacity), mode: this.#options?.mode }, SegmentKind.Channel);
      initRings(memory, this.#capacity);
      await control.send(encodeOffer({ version: 1, segment, capacity: this.#capacity }));
      const answer = await control.receive({ timeout: 10_000 });
      if (answer === undefined || new TextDecoder().decode(answer) !== new TextDecoder().decode(MAPPED)) {
        throw new ProtocolError(`${this.address}: the client did not map its segment`);
      }
      memory.unlink(); // both sides map it: the name can go
      this.queue.push(
        new ShmConnection(memory, control, true, this.address, {
          maxMessageSize: this.#maxMessageSize,
          highWaterMark: this.#highWaterMark,
          spin: this.#options?.spin ?? DEFAULT_SPIN,
        }),
      );
    } catch {
      control.abort();
      if (memory !== undefined) {
        memory.close();
        try {
          memory.unlink();
        } catch {
          // already unlinked
        }
      }
    }
  }
}

/** Writes the headers of the two rings of a fresh channel segment (no one waits on them yet). */
function initRings(memory: SharedMemory, capacity: number): void {
  const idle: Doorbell = { ring() {}, async wait() {}, waitSync() {} };
  for (const offset of [0, ringSize(capacity)]) new MessageRing(memory.buffer, offset, { capacity, init: true, doorbell: idle });
}

function nameOf(address: string): string {
  return parseAddressOf(address, "shm").name;
}

/** Listens on `shm://name` (a rendezvous socket in the abstract namespace, and a segment per connection). */
export async function listen(address: string, options?: ShmListenOptions): Promise<Listener> {
  const name = nameOf(address);
  requireShm();
  resolveConnectionOptions(options);
  capacityFor(options?.ringCapacity ?? DEFAULT_RING_CAPACITY);
  const rendezvous = await unix.listen(rendezvousOf(name), {
    backlog: options?.backlog,
    sameUser: options?.sameUser ?? (options?.allowUids === undefined && options?.allowGids === undefined && options?.authorize === undefined),
    allowUids: options?.allowUids,
    allowGids: options?.allowGids,
    authorize: options?.authorize,
    onReject: options?.onReject,
  });
  return new ShmListener(name, rendezvous, options);
}

/** Connects to `shm://name`: meets the listener, maps the connection's segment, and is ready. */
export async function connect(address: string, options?: ShmConnectOptions): Promise<ShmConnection> {
  const name = nameOf(address);
  const settings = resolveConnectionOptions(options);
  const what = `connect to ${address}`;
  requireShm();
  throwIfAborted(options?.signal, what);
  const remaining = deadline(options);
  const control = await unix.connect(rendezvousOf(name), remaining()).catch((error: unknown) => {
    // Name what the caller asked for, not the rendezvous socket behind it.
    if (error instanceof ConnectionRefusedError) {
      throw new ConnectionRefusedError(`${what}: nothing is listening there (no listener on ${rendezvousOf(name)})`, { cause: error });
    }
    if (error instanceof TimeoutError && options?.timeout !== undefined) {
      throw new TimeoutError(`${what} timed out after ${options.timeout} ms`, options.timeout, { cause: error });
    }
    throw error;
  });
  try {
    const offer = decodeOffer(await control.receive(remaining()), what);
    checkOffer(offer, what);
    const memory = SharedMemory.open(offer.segment);
    if (memory.header?.kind !== SegmentKind.Channel || memory.size !== 2 * ringSize(offer.capacity)) {
      memory.close();
      throw new ProtocolError(`${what}: segment '${offer.segment}' is not the connection's channel`);
    }
    let connection: ShmConnection;
    try {
      // Checks both rings' headers (docs/wire.md §5.5): a server that wrote a bad one is a ProtocolError.
      connection = new ShmConnection(memory, control, false, address, {
        maxMessageSize: settings.maxMessageSize,
        highWaterMark: settings.highWaterMark,
        spin: options?.spin ?? DEFAULT_SPIN,
      });
    } catch (error) {
      memory.close();
      throw error;
    }
    await control.send(MAPPED);
    publishConnect(connection, address);
    return connection;
  } catch (error) {
    control.abort();
    if (error instanceof TimeoutError && options?.timeout !== undefined) {
      throw new TimeoutError(`${what} timed out after ${options.timeout} ms`, options.timeout, { cause: error });
    }
    throw error;
  }
}

/** The `shm:` transport, for code that picks a transport by URL (`@ipc/kit`). */
export const shmTransport: Transport<ShmListenOptions, ShmConnectOptions> = { scheme: "shm", listen, connect };
