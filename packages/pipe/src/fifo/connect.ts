/**
 * The client's side of the `fifo:` handshake (docs/wire.md §6.2): take the lock, open `.out` for reading and `.in`
 * for writing, greet, wait for the server's greeting, release the lock. What remains is a pair of byte
 * streams that no other client can join (the server has already replaced the FIFOs at those names).
 */
import { closeSync, constants, openSync } from "node:fs";
import { ConnectionRefusedError, PeerRejectedError, PermissionDeniedError, parseAddressOf, wait, type WaitOptions } from "@ipc/core";
import { openFifoFd } from "./open.js";
import { GREETING, fifoPaths, readGreeting, type FifoPaths } from "./protocol.js";
import { tryLock } from "../native/native.js";
import { PipeSocket } from "../native/socket.js";

/** Longest pause between two attempts to take the lock while another client is handshaking. */
const MAX_LOCK_DELAY = 20;

/** The two byte streams of a `fifo:` connection, seen from the client. */
export interface FifoStreams {
  /** `.out`: what the server sends. */
  readonly readable: PipeSocket;
  /** `.in`: what this client sends. */
  readonly writable: PipeSocket;
}

/** One attempt to connect; `cancel()` undoes whatever it has done so far. */
class ClientHandshake {
  readonly #paths: FifoPaths;
  readonly #address: string;
  #lockFd: number | undefined;
  #reader: PipeSocket | undefined;
  #writer: PipeSocket | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopReading: (() => void) | undefined;
  #cancelled = false;

  constructor(paths: FifoPaths, address: string) {
    this.#paths = paths;
    this.#address = address;
  }

  async run(): Promise<FifoStreams> {
    try {
      this.#lockFd = this.#open(() => openSync(this.#paths.lock, constants.O_RDONLY), "no lock file");
      await this.#lock(this.#lockFd);
      const reader = new PipeSocket(
        this.#open(() => openFifoFd(this.#paths.out, constants.O_RDONLY), "no FIFO"),
        "read",
        `FIFO ${this.#paths.out}`,
      );
      this.#reader = reader;
      const writer = new PipeSocket(
        this.#open(() => openFifoFd(this.#paths.in, constants.O_WRONLY), "no server reads it"),
        "write",
        `FIFO ${this.#paths.in}`,
      );
      this.#writer = writer;
      const answer = await new Promise<Buffer>((resolve, reject) => {
        // Until the framing takes the streams over, their errors (the server leaving: EPIPE) end the handshake.
        const onError = (error: Error): void => {
          reader.off("error", onError);
          writer.off("error", onError);
          reject(error);
        };
        reader.on("error", onError);
        writer.on("error", onError);
        this.#stopReading = readGreeting(
          reader,
          (bytes) => {
            reader.off("error", onError);
            writer.off("error", onError);
            resolve(bytes);
          },
          onError,
        );
        writer.write(GREETING);
      });
      if (answer.byteLength === 0) {
        throw new ConnectionRefusedError(`connect to ${this.#address}: the listener closed the FIFO without answering`);
      }
      if (!answer.equals(GREETING)) {
        throw new PeerRejectedError(`connect to ${this.#address}: the listener answered with an unknown greeting`);
      }
      closeSync(this.#lockFd);
      this.#lockFd = undefined;
      return { readable: reader, writable: writer };
    } catch (error) {
      this.cancel();
      throw error;
    }
  }

  cancel(): void {
    this.#cancelled = true;
    clearTimeout(this.#timer);
    this.#stopReading?.();
    this.#reader?.destroy();
    this.#writer?.destroy();
    if (this.#lockFd !== undefined) closeSync(this.#lockFd);
    this.#lockFd = undefined;
  }

  /** Opens one of the files; "nobody is there" errors become `ConnectionRefusedError`. */
  #open(open: () => number, why: string): number {
    if (this.#cancelled) throw new ConnectionRefusedError(`connect to ${this.#address}: cancelled`);
    try {
      return open();
    } catch (error) {
      const code = (error as { code?: unknown; cause?: { code?: unknown } }).cause?.code ?? (error as { code?: unknown }).code;
      if (code === "EACCES" || code === "EPERM") {
        throw new PermissionDeniedError(`connect to ${this.#address}: permission denied (${String(code)})`, { cause: error });
      }
      if (code === "ENOENT" || code === "ENXIO" || code === "ENOTDIR") {
        throw new ConnectionRefusedError(`connect to ${this.#address}: nothing is listening there (${why}, ${code})`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  /** Takes the handshake lock, retrying (with a growing pause) while another client holds it. */
  #lock(fd: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let delay = 1;
      const attempt = (): void => {
        if (this.#cancelled) return;
        try {
          if (tryLock(fd, this.#paths.lock)) return resolve();
        } catch (error) {
          return reject(error);
        }
        this.#timer = setTimeout(attempt, delay);
        delay = Math.min(delay * 2, MAX_LOCK_DELAY);
      };
      attempt();
    });
  }
}

/**
 * Connects to the `fifo:` listener at `address` and returns the raw byte streams, after the handshake.
 * `timeout` / `signal` bound the whole of it, including waiting for other clients' handshakes.
 */
export function connectFifoStreams(address: string, options?: WaitOptions): Promise<FifoStreams> {
  const { path } = parseAddressOf(address, "fifo");
  const handshake = new ClientHandshake(fifoPaths(path), address);
  return wait<FifoStreams>(`connect to ${address}`, options, (resolve, reject) => {
    handshake.run().then(resolve, reject);
    return () => handshake.cancel();
  });
}
