/**
 * `SharedMemory`: a named POSIX shared-memory segment (docs/guide.md#segments), mapped into this process.
 * Created 0600 with O_EXCL; closing it never leaves a view that could crash the process.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { ClosedError, InvalidArgumentError, InvalidAddressError, type IpcError } from "@ipc/core";
import { AlreadyExistsError, NotFoundError } from "./errors.js";
import { HEADER_SIZE, SegmentKind, readHeader, writeHeader, type SegmentHeader, type SegmentKindCode } from "./header.js";
import * as native from "./native.js";

/** The longest segment name (NAME_MAX, without the leading slash). */
export const SHM_NAME_MAX = 255;

/** Checks a segment name: letters, digits, '.', '_' and '-', 1–255 bytes (no '/'). */
export function checkName(name: string): void {
  if (typeof name !== "string" || !/^[A-Za-z0-9._-]{1,255}$/.test(name) || name === "." || name === "..") {
    throw new InvalidAddressError(`invalid shared-memory name '${String(name)}': use 1 to ${SHM_NAME_MAX} letters, digits, '.', '_' or '-' (no '/')`);
  }
}

/** Options of {@link SharedMemory.create}. */
export interface CreateOptions {
  /** The segment's name (it appears as /dev/shm/<name>). */
  readonly name: string;
  /** Bytes of data (the 64-byte header comes on top). */
  readonly size: number;
  /** Permission bits. Default: `0o600` (this user only). */
  readonly mode?: number | undefined;
}

/** Options of {@link SharedMemory.open}. */
export interface OpenOptions {
  /**
   * Map it copy-on-write: this process sees the segment as others change it, and its own writes stay
   * private (they never reach the segment, and never crash the process). Default: `false`.
   */
  readonly readOnly?: boolean | undefined;
}

// The address ranges of closed segments are unmapped once no view over them can be reached.
const unmapper = new FinalizationRegistry<{ address: bigint; length: number }>(({ address, length }) => native.unmap(address, length));

/**
 * shm_open's EEXIST and ENOENT as this package's errors, with the OS error (`{ code, errno, syscall }`)
 * as their cause — not the generic typed error the native layer made of it, whose wording is about
 * sockets and addresses.
 */
function mapError(error: unknown, name: string): IpcError {
  const os = (error as { cause?: { code?: string; syscall?: string } }).cause;
  const code = os?.code;
  const from = `${code} from ${os?.syscall ?? "shm_open"}()`;
  if (code === "EEXIST") {
    return new AlreadyExistsError(
      `shared memory '${name}' already exists (${from}): pick another name, or remove it (SharedMemory.unlink('${name}'), or removeStale() for segments a killed process left)`,
      { cause: os },
    );
  }
  if (code === "ENOENT") return new NotFoundError(`no shared memory named '${name}' (${from})`, { cause: os });
  return error as IpcError;
}

/** A mapped shared-memory segment. */
export class SharedMemory implements Disposable, AsyncDisposable {
  /** The segment's name (without a leading slash). */
  readonly name: string;
  /** Bytes of data (for a segment without our header, the whole segment). */
  readonly size: number;
  /** True if mapped copy-on-write (see {@link OpenOptions.readOnly}). */
  readonly readOnly: boolean;
  /** The header, for segments this toolkit created; undefined for others (from Python, say). */
  readonly header: SegmentHeader | undefined;
  readonly #mapping: native.Mapping;
  readonly #data: ArrayBuffer;
  #closed = false;

  private constructor(name: string, mapping: native.Mapping, header: SegmentHeader | undefined, readOnly: boolean) {
    this.name = name;
    this.#mapping = mapping;
    this.header = header;
    this.readOnly = readOnly;
    const offset = header === undefined ? 0 : HEADER_SIZE;
    this.size = mapping.length - offset;
    this.#data = offset === 0 ? mapping.buffer : native.view(mapping, offset, this.size);
  }

  /**
   * Creates a segment (O_CREAT | O_EXCL: `AlreadyExistsError` if the name is taken) with `mode` (0600),
   * zero-filled, with our header. `kind` is for the toolkit's own layouts.
   */
  static create(options: CreateOptions, kind: SegmentKindCode = SegmentKind.Raw): SharedMemory {
    checkName(options.name);
    const size = options.size;
    if (!Number.isSafeInteger(size) || size < 1) throw new InvalidArgumentError(`size must be a positive integer, got ${String(size)}`);
    const mode = options.mode ?? 0o600;
    const what = `create shared memory '${options.name}'`;
    let fd: number;
    try {
      fd = native.shmOpen(options.name, native.O_RDWR | native.O_CREAT | native.O_EXCL, mode, what);
    } catch (error) {
      throw mapError(error, options.name);
    }
    let mapping: native.Mapping;
    try {
      native.fchmod(fd, mode, what);
      native.truncate(fd, HEADER_SIZE + size, what);
      mapping = native.map(fd, HEADER_SIZE + size, false, what);
    } catch (error) {
      native.closeFd(fd);
      try {
        native.shmUnlink(options.name, what);
      } catch {
        // Leave it: nothing more to do.
      }
      throw error;
    }
    native.closeFd(fd);
    writeHeader(mapping.buffer, kind, size);
    return new SharedMemory(options.name, mapping, readHeader(new Uint8Array(mapping.buffer, 0, HEADER_SIZE)), false);
  }

  /** Maps an existing segment (`NotFoundError` if there is none); ours or anyone's. */
  static open(name: string, options?: OpenOptions): SharedMemory {
    checkName(name);
    const readOnly = options?.readOnly ?? false;
    const what = `open shared memory '${name}'`;
    let fd: number;
    try {
      fd = native.shmOpen(name, readOnly ? native.O_RDONLY : native.O_RDWR, 0, what);
    } catch (error) {
      throw mapError(error, name);
    }
    let mapping: native.Mapping;
    try {
      const length = fstatSync(fd).size;
      if (length === 0) throw new InvalidArgumentError(`shared memory '${name}' is empty (size 0)`);
      mapping = native.map(fd, length, readOnly, what);
    } finally {
      native.closeFd(fd);
    }
    const header = readHeader(new Uint8Array(mapping.buffer, 0, Math.min(HEADER_SIZE, mapping.length)));
    return new SharedMemory(name, mapping, header !== undefined && header.dataSize + HEADER_SIZE <= mapping.length ? header : undefined, readOnly);
  }

  /** Removes the name `name` (mappings stay valid until unmapped); `NotFoundError` if there is none. */
  static unlink(name: string): void {
    checkName(name);
    try {
      native.shmUnlink(name, `remove shared memory '${name}'`);
    } catch (error) {
      throw mapError(error, name);
    }
  }

  /** The data, as an ArrayBuffer over the mapping. `ClosedError` once closed. */
  get buffer(): ArrayBuffer {
    if (this.#closed) throw new ClosedError(`shared memory '${this.name}' is closed`);
    return this.#data;
  }

  /** True once {@link SharedMemory.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** @internal The mapping, for the toolkit's own layouts (futex addresses); not part of the public API. */
  get mapping(): native.Mapping {
    if (this.#closed) throw new ClosedError(`shared memory '${this.name}' is closed`);
    return this.#mapping;
  }

  /** The byte offset of the data within the mapping (64 for our segments, 0 for others). */
  get dataOffset(): number {
    return this.header === undefined ? 0 : HEADER_SIZE;
  }

  /**
   * Unmaps the segment from this process. `buffer` then throws `ClosedError`; arrays made over it
   * earlier read zeros (private memory takes the segment's place) instead of crashing the process.
   * Safe to call more than once. The segment itself lives on until unlinked and unmapped everywhere.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    native.detach(this.#mapping);
    // Only the data view ever leaves this object: once it is unreachable, no view of the range is.
    unmapper.register(this.#data, { address: this.#mapping.address, length: this.#mapping.length });
  }

  /** Removes this segment's name (see {@link SharedMemory.unlink}); the mapping stays usable. */
  unlink(): void {
    SharedMemory.unlink(this.name);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/** Reads the first 64 bytes of /dev/shm/<name> without mapping it. */
export function peekHeader(name: string): SegmentHeader | undefined {
  let fd: number;
  try {
    fd = openSync(`/dev/shm/${name}`, "r");
  } catch {
    return undefined;
  }
  try {
    const bytes = new Uint8Array(HEADER_SIZE);
    return readSync(fd, bytes, 0, HEADER_SIZE, 0) === HEADER_SIZE ? readHeader(bytes) : undefined;
  } finally {
    closeSync(fd);
  }
}
