/**
 * `reliableListener(listener)`: the server end of reliable sessions. Each connection from a client starts
 * with a Hello: a new session is handed out by `accept()`; a known one is resumed on that connection
 * (the client reconnected) without being handed out again.
 */
import { randomBytes } from "node:crypto";
import { ListenerBase, noop } from "@ipc/core/transport";
import { ClosedError, ProtocolError, type Connection, type Listener, type WaitOptions } from "@ipc/core";
import { ipc } from "@ipc/core/proto";
import { PROTOCOL_VERSION, decodeSessionFrame, encodeGoodbye, encodeSessionEnd, encodeWelcome, type Handshake } from "./codec.js";
import { impossiblePosition, SESSION_ID_BYTES } from "./handshake.js";
import { integerOption, resolveSessionOptions, type ReliableListenerOptions, type ResolvedSessionOptions } from "./options.js";
import { Session, type ReliableSession, type SessionLink } from "./session.js";

/** A listener of reliable sessions: `accept()` and `for await` yield each new session once. */
export interface ReliableListener extends Listener {
  accept(options?: WaitOptions): Promise<ReliableSession | undefined>;
  [Symbol.asyncIterator](): AsyncIterator<ReliableSession>;
  /** Sessions kept now: connected, or waiting to be resumed. */
  readonly sessions: number;
}

const { REASON_SESSION_UNKNOWN, REASON_PROTOCOL, REASON_VERSION, REASON_UNSPECIFIED } = ipc.Goodbye.Reason;

/** Serves reliable sessions on the connections `listener` accepts (any transport). */
export function reliableListener(listener: Listener, options?: ReliableListenerOptions): ReliableListener {
  return new SessionListener(listener, options);
}

/** What a server remembers of a session that ended gracefully, to answer a client that missed the end. */
interface Ended {
  readonly received: number;
  readonly last: number;
  /** The session's {@link Session.uid}. */
  readonly uid: number | undefined;
}

class SessionListener extends ListenerBase<ReliableSession> implements ReliableListener, SessionLink {
  readonly closesLast = false;
  readonly #listener: Listener;
  readonly #options: ResolvedSessionOptions;
  readonly #maxSessions: number;
  readonly #sessions = new Map<string, Session>();
  readonly #expiry = new Map<Session, NodeJS.Timeout>();
  /** Sessions that ended gracefully, kept for resumeTimeout (at most maxSessions of them). */
  readonly #ended = new Map<string, Ended>();

  constructor(listener: Listener, options: ReliableListenerOptions | undefined) {
    const resolved = resolveSessionOptions(options);
    const maxSessions = integerOption("maxSessions", options?.maxSessions, 1024, 1);
    super(integerOption("backlog", options?.backlog, 128, 1, 65_535));
    this.#listener = listener;
    this.#options = resolved;
    this.#maxSessions = maxSessions;
    void this.#serve();
  }

  get address(): string {
    return this.#listener.address;
  }

  get sessions(): number {
    return this.#sessions.size;
  }

  protected override release(): Promise<void> {
    return this.#listener.close();
  }

  lost(session: Session, error: Error): void {
    const timer = setTimeout(() => {
      this.#expiry.delete(session);
      session.fail(session.lostError(`the client did not resume session ${session.id} within resumeTimeout (${this.#options.resumeTimeout} ms)`, error));
    }, this.#options.resumeTimeout);
    this.#expiry.set(session, timer);
  }

  finished(session: Session): void {
    clearTimeout(this.#expiry.get(session));
    this.#expiry.delete(session);
    if (this.#sessions.get(session.id) === session) this.#sessions.delete(session.id);
    if (this.#ended.size >= this.#maxSessions) return;
    session.closed.then(() => {
      // The client may have missed the end (its connection broke just then): remember it for a while.
      this.#ended.set(session.id, { received: session.stats.received, last: session.lastSent, uid: session.uid });
      setTimeout(() => this.#ended.delete(session.id), this.#options.resumeTimeout).unref();
    }, noop);
  }

  async #serve(): Promise<void> {
    try {
      for await (const connection of this.#listener) void this.#welcome(connection);
    } catch {
      // The listener failed: it accepts nothing more, and neither does this one.
    }
    this.queue.close();
  }

  /** Reads the Hello of a new connection and starts or resumes its session; refuses anything else. */
  async #welcome(connection: Connection): Promise<void> {
    let hello: Handshake;
    try {
      const bytes = await connection.receive({ timeout: this.#options.handshakeTimeout });
      if (bytes === undefined) return void connection.close().catch(noop);
      const frame = decodeSessionFrame(bytes);
      if (frame.kind !== "hello") {
        throw new ProtocolError(`a reliable session's connection must start with Hello, not ${frame.kind === "other" ? frame.name : frame.kind}`);
      }
      hello = frame;
    } catch (error) {
      return refuse(connection, REASON_PROTOCOL, (error as Error).message, error as Error);
    }
    if (hello.version !== PROTOCOL_VERSION) {
      return refuse(connection, REASON_VERSION, `this server speaks session protocol version ${PROTOCOL_VERSION}, not ${hello.version}`);
    }
    if (hello.session.byteLength !== 0 && hello.session.byteLength !== SESSION_ID_BYTES) {
      return refuse(connection, REASON_PROTOCOL, `a session id is ${SESSION_ID_BYTES} bytes, not ${hello.session.byteLength}`);
    }
    try {
      if (hello.session.byteLength === 0) this.#start(connection, hello);
      else this.#resume(connection, hello);
    } catch (error) {
      refuse(connection, REASON_PROTOCOL, (error as Error).message, error as Error);
    }
  }

  #start(connection: Connection, hello: Handshake): void {
    // Nothing was sent yet in a new session: its Hello holds and acknowledges nothing.
    const impossible = impossiblePosition(hello, 0, 0);
    if (impossible !== undefined) return refuse(connection, REASON_PROTOCOL, `the Hello of a new session ${impossible}`);
    if (this.#sessions.size >= this.#maxSessions || !this.queue.hasRoom || this.queue.closed) {
      return refuse(connection, REASON_UNSPECIFIED, `the server is busy (${this.#sessions.size} sessions) or closing; try again later`);
    }
    // 128 bits from the system's CSPRNG: the id is what a client shows to resume (docs/wire.md §8.2.2).
    const session = new Session(randomBytes(SESSION_ID_BYTES), this.#options, connection, this);
    this.#sessions.set(session.id, session);
    session.attach(connection, hello, welcome(session, hello));
    this.queue.push(session);
  }

  /**
   * Resumes the session `hello` names on `connection`, or refuses it (Goodbye) without touching the
   * session: it is unknown, or belongs to another user (answered alike: another user learns nothing of
   * it), or the Hello's position is impossible.
   */
  #resume(connection: Connection, hello: Handshake): void {
    const id = Buffer.from(hello.session).toString("hex");
    const ended = this.#ended.get(id);
    if (ended !== undefined) {
      if (!sameUser(ended.uid, connection)) return refuse(connection, REASON_SESSION_UNKNOWN, UNKNOWN);
      // The session ended with everything acknowledged: the client holds every message up to `last`.
      const impossible = impossiblePosition(hello, ended.last, ended.last);
      if (impossible !== undefined) return refuse(connection, REASON_PROTOCOL, `the Hello of session ${id} ${impossible}`);
      // Say again how the session ended: everything was received and acknowledged both ways.
      connection
        .send(encodeWelcome({ session: hello.session, received: ended.received, ack: ended.received, window: this.#options.maxBufferedBytes, features: 0 }))
        .catch(noop);
      connection.send(encodeSessionEnd(ended.last)).catch(noop);
      void connection.close({ timeout: this.#options.handshakeTimeout }).catch(noop);
      return;
    }
    const session = this.#sessions.get(id);
    if (session === undefined || session.state === "closed" || !sameUser(session.uid, connection)) {
      return refuse(connection, REASON_SESSION_UNKNOWN, UNKNOWN);
    }
    const impossible = session.impossible(hello);
    if (impossible !== undefined) return refuse(connection, REASON_PROTOCOL, `the Hello of session ${id} ${impossible}`);
    clearTimeout(this.#expiry.get(session));
    this.#expiry.delete(session);
    session.attach(connection, hello, welcome(session, hello));
  }
}

/**
 * The Welcome for `hello`: the session's position, and of its features those the Hello announced too (none for
 * a client that announced none, so that it reads the Welcome it always read: docs/wire.md §8.2.2).
 */
function welcome(session: Session, hello: Handshake): Uint8Array {
  const position = session.position();
  return encodeWelcome({ ...position, features: position.features & hello.features });
}

const UNKNOWN = "no such session here (the server restarted, or the session expired)";

/**
 * True if `connection` may resume a session opened by user `uid`: the same user, as the transport tells
 * (`peer.uid`: Unix sockets, shm). A session opened over a transport that does not tell (`uid` undefined:
 * TCP, or no native calls) is resumed by whoever shows its id; a session with a user is never resumed over a
 * connection whose user is unknown.
 */
function sameUser(uid: number | undefined, connection: Connection): boolean {
  return uid === undefined || connection.peer?.uid === uid;
}

/** Says why in a Goodbye, then closes `connection` (aborting it if the peer does not close in time). */
function refuse(connection: Connection, reason: ipc.Goodbye.Reason, message: string, error?: Error): void {
  connection.send(encodeGoodbye(reason, message)).catch(noop);
  void connection.close({ timeout: 1000 }).catch(noop);
  if (error !== undefined && !(error instanceof ProtocolError) && !(error instanceof ClosedError)) connection.abort(error);
}
