/**
 * The `pipe:` transport: a child process's stdio as a connection, behind the @ipc `Transport` contract.
 *
 * - `connect("pipe:/usr/bin/python3?arg=worker.py&arg=--fast")` starts the command (no shell; a command
 *   without a slash is looked up in PATH) with those arguments, and resolves with the connection to it
 *   ({@link spawnChannel}; every option of `spawnChannel` is accepted).
 * - `listen("pipe:")`, in the child, yields exactly one connection: the one to its parent
 *   ({@link parentChannel}). Once it has been accepted, `accept()` resolves `undefined`. A process has one
 *   stdin and stdout, so a second `listen("pipe:")` throws `AddressInUseError`.
 */
import {
  ConnectionRefusedError,
  InvalidAddressError,
  parseAddressOf,
  type Connection,
  type ConnectionOptions,
  type ListenOptions,
  type Listener,
  type Transport,
  type WaitOptions,
} from "@ipc/core";
import { ListenerBase, publishConnect } from "@ipc/core/transport";
import { spawnChannel, type ChildChannel, type SpawnChannelOptions } from "./child.js";
import { SpawnError } from "../errors.js";
import { parentChannel } from "./parent.js";

/**
 * The listener of `listen("pipe:")`: one connection, to the parent. Closing it before that connection is
 * accepted aborts the connection.
 */
class ParentListener extends ListenerBase {
  readonly address = "pipe:";

  constructor(connection: Connection) {
    super(1);
    this.queue.push(connection);
  }

  /** The connection to the parent once; then `undefined`, as from a closed listener. */
  override async accept(options?: WaitOptions): Promise<Connection | undefined> {
    const connection = await super.accept(options);
    this.queue.close();
    return connection;
  }

  protected override release(): void {}
}

/** The `pipe:` transport; `connect()` resolves with the {@link ChildChannel} (pid, stderr, exit status). */
export interface PipeTransport extends Transport<ListenOptions, SpawnChannelOptions> {
  connect(address: string, options?: SpawnChannelOptions): Promise<ChildChannel>;
}

/** `pipe:` — connect spawns a child and talks over its stdio; listen (in the child) yields the parent. */
export const pipeTransport: PipeTransport = {
  scheme: "pipe",

  async listen(address: string, options?: ListenOptions): Promise<Listener> {
    const parsed = parseAddressOf(address, "pipe");
    if (parsed.command !== undefined) {
      throw new InvalidAddressError(`invalid address '${address}': listen takes 'pipe:' (this process's stdio); a command belongs to connect()`);
    }
    const connectionOptions: ConnectionOptions = {
      maxMessageSize: options?.maxMessageSize,
      highWaterMark: options?.highWaterMark,
    };
    return new ParentListener(parentChannel(connectionOptions));
  },

  async connect(address: string, options?: SpawnChannelOptions): Promise<ChildChannel> {
    const { command, args } = parseAddressOf(address, "pipe");
    if (command === undefined) {
      throw new InvalidAddressError(
        `invalid address '${address}': connect needs a command ('pipe:/path/to/cmd?arg=x'); 'pipe:' alone is the child's side: listen('pipe:')`,
      );
    }
    try {
      const channel = await spawnChannel(command, args, options);
      publishConnect(channel, address);
      return channel;
    } catch (error) {
      if (error instanceof SpawnError) {
        throw new ConnectionRefusedError(`connect to ${address}: ${error.message}`, { cause: error });
      }
      throw error;
    }
  },
};
