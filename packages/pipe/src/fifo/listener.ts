/**
 * The server's side of `fifo:` (docs/wire.md §6.2). It keeps `<path>.in` open for reading and waits for a client's
 * greeting; on one, it opens `<path>.out` for writing, replaces both FIFOs at their names with fresh ones
 * (so the next client can never mix its bytes into this connection, whatever is still in flight), answers
 * the greeting, and hands the connection out. Clients take turns through the lock file, so handshakes are
 * one at a time; connections, once made, run side by side.
 */
import { chmodSync, closeSync, constants, lstatSync, openSync, unlinkSync } from "node:fs";
import { AddressInUseError, formatAddress, parseAddressOf, type ListenOptions } from "@ipc/core";
import { ListenerBase, resolveBacklog, resolveConnectionOptions, type ResolvedConnectionOptions } from "@ipc/core/transport";
import { framed } from "@ipc/framing";
import { mkfifo, openFifoFd } from "./open.js";
import { GREETING, fifoPaths, readGreeting, type FifoPaths } from "./protocol.js";
import { PipeSocket } from "../native/socket.js";

/** Options of `fifoTransport.listen()`. */
export interface FifoListenOptions extends ListenOptions {
  /** Permissions of the FIFOs and the lock file (exactly, not reduced by the umask). Default: `0o600`. */
  readonly mode?: number | undefined;
}

function kindOf(path: string): "fifo" | "file" | "other" | undefined {
  try {
    // bigint: a plain lstatSync of a FIFO would make later require()s of symlinked packages fail (native/native.ts).
    const stat = lstatSync(path, { bigint: true });
    return stat.isFIFO() ? "fifo" : stat.isFile() ? "file" : "other";
  } catch {
    return undefined;
  }
}

/** True when a process has `<path>.in` open for reading: a live listener. */
function hasReader(path: string): boolean {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
    return true;
  } catch {
    return false;
  }
}

/**
 * Takes the address: refuses a live listener's, replaces a dead one's leftovers, creates the FIFOs and
 * the lock file.
 */
function claim(paths: FifoPaths, address: string, mode: number): void {
  const expected = { [paths.in]: "fifo", [paths.out]: "fifo", [paths.lock]: "file" } as const;
  for (const [path, kind] of Object.entries(expected)) {
    const found = kindOf(path);
    if (found !== undefined && found !== kind) {
      throw new AddressInUseError(`listen on ${address}: ${path} exists and is not a ${kind === "fifo" ? "FIFO" : "file"}; not touching it`);
    }
  }
  if (kindOf(paths.in) === "fifo" && hasReader(paths.in)) {
    throw new AddressInUseError(`listen on ${address}: a live listener has ${paths.in} open`);
  }
  for (const path of Object.keys(expected)) if (kindOf(path) !== undefined) unlinkSync(path);
  mkfifo(paths.in, mode);
  mkfifo(paths.out, mode);
  closeSync(openSync(paths.lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode));
  chmodSync(paths.lock, mode);
}

/** A `fifo:` listener. */
export class FifoListener extends ListenerBase {
  readonly address: string;
  readonly #paths: FifoPaths;
  readonly #mode: number;
  readonly #options: ResolvedConnectionOptions;
  #pending: PipeSocket | undefined;
  #stopReading: (() => void) | undefined;

  constructor(address: string, options?: FifoListenOptions) {
    const { path } = parseAddressOf(address, "fifo");
    const resolved = resolveConnectionOptions(options);
    super(resolveBacklog(options));
    this.address = formatAddress({ scheme: "fifo", path });
    this.#paths = fifoPaths(path);
    this.#options = resolved;
    this.#mode = options?.mode ?? 0o600;
    claim(this.#paths, this.address, this.#mode);
    this.#awaitClient();
  }

  /** Stops accepting and removes the files; connections handed out stay open (their FIFOs are unlinked already). */
  protected override release(): void {
    this.#stopReading?.();
    this.#pending?.destroy();
    for (const path of [this.#paths.in, this.#paths.out, this.#paths.lock]) {
      try {
        unlinkSync(path);
      } catch {
        // Already gone.
      }
    }
  }

  /** Opens `.in` for reading and waits for the next client's greeting. */
  #awaitClient(): void {
    const reader = new PipeSocket(openFifoFd(this.#paths.in, constants.O_RDONLY), "read", `FIFO ${this.#paths.in}`);
    reader.on("error", () => undefined);
    this.#pending = reader;
    this.#stopReading = readGreeting(
      reader,
      (greeting) => void this.#onGreeting(reader, greeting),
      () => this.#renew(),
    );
  }

  async #onGreeting(reader: PipeSocket, greeting: Buffer): Promise<void> {
    this.#pending = undefined;
    if (!greeting.equals(GREETING)) {
      // A writer that came and went (another listen() probing), or a peer that does not speak this.
      if (greeting.byteLength > 0) {
        this.refused("the client's greeting is not the fifo: handshake's (docs/wire.md §6.2)");
        this.#refuse();
      }
      reader.destroy();
      return this.#renew();
    }
    try {
      // Beyond the backlog the client waits for the answer (under its own timeout).
      await this.queue.waitForRoom();
    } catch {
      reader.destroy();
      return;
    }
    let writer: PipeSocket;
    try {
      writer = new PipeSocket(openFifoFd(this.#paths.out, constants.O_WRONLY), "write", `FIFO ${this.#paths.out}`);
    } catch {
      reader.destroy(); // The client gave up meanwhile.
      return this.#renew();
    }
    this.#renew();
    writer.write(GREETING);
    const options = { ...this.#options, localAddress: this.address, remoteAddress: this.address };
    this.queue.push(framed({ readable: reader, writable: writer }, options));
  }

  /** Opens `.out` and closes it at once: the client sees end-of-file instead of a greeting. */
  #refuse(): void {
    try {
      closeSync(openSync(this.#paths.out, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // Nobody to tell.
    }
  }

  /** Puts fresh FIFOs at the names (the taken ones live on, unlinked, in the connection) and waits again. */
  #renew(): void {
    if (this.isClosed) return;
    try {
      unlinkSync(this.#paths.in);
      unlinkSync(this.#paths.out);
      mkfifo(this.#paths.in, this.#mode);
      mkfifo(this.#paths.out, this.#mode);
      this.#awaitClient();
    } catch {
      // The directory went away under the listener: it cannot serve anyone any more.
      void this.close();
    }
  }
}
