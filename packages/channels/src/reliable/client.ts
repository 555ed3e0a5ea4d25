/**
 * `reliable(connect)`: the client end of a reliable session. It opens a connection with `connect`, starts
 * a session, and whenever the connection is lost opens another and resumes, until `resumeTimeout`.
 */
import { InvalidArgumentError, abortError, deadline, race, type Connection } from "@ipc/core";
import { ipc } from "@ipc/core/proto";
import { noop } from "@ipc/core/transport";
import { encodeGoodbye } from "./codec.js";
import { clientHandshake, impossiblePosition, ResumeRefused, SessionProtocolError, SessionUnknown } from "./handshake.js";
import { integerOption, resolveSessionOptions, type ReliableOptions, type ResolvedSessionOptions } from "./options.js";
import { Session, type ReliableSession, type SessionLink } from "./session.js";

/** Opens a fresh connection to the server (over any transport); `signal` aborts when the session no longer needs it. */
export type Connect = (options: { readonly signal: AbortSignal }) => Promise<Connection>;

/**
 * Starts a reliable session with a `reliableListener()` over the connections `connect` opens. Resolves
 * once the first connection is open and the server welcomed the session (under `options.timeout` and
 * `options.signal`); rejects with the error of that first attempt. From then on, the session survives
 * its connection dropping: it calls `connect` again (with growing delays) and resumes, replaying what
 * the server did not get; it fails with `SessionLostError` if that takes longer than `resumeTimeout`
 * or the server no longer knows the session.
 */
export async function reliable(connect: Connect, options?: ReliableOptions): Promise<ReliableSession> {
  if (typeof connect !== "function") throw new InvalidArgumentError("reliable() takes a function that opens a connection");
  const resolved = resolveSessionOptions(options);
  const minDelay = integerOption("minReconnectDelay", options?.minReconnectDelay, 50, 0);
  const maxDelay = integerOption("maxReconnectDelay", options?.maxReconnectDelay, 2000, minDelay);
  const next = deadline(options);
  const controller = new AbortController();
  const connection = await race("connect", connect({ signal: controller.signal }), next(), () => controller.abort(abortError(controller.signal, "connect")));
  let session: Session | undefined;
  try {
    const welcome = await clientHandshake(
      connection,
      { session: EMPTY, received: 0, ack: 0, window: resolved.maxBufferedBytes, features: resolved.features },
      limit(next(), resolved),
    );
    // Nothing was sent yet in a new session: the Welcome holds and acknowledges nothing.
    const impossible = impossiblePosition(welcome, 0, 0);
    if (impossible !== undefined) throw new SessionProtocolError(`the server's Welcome ${impossible}`);
    session = new Session(welcome.session, resolved, connection, new Redial(connect, resolved, minDelay, maxDelay));
    session.attach(connection, welcome);
    return session;
  } catch (error) {
    drop(connection, error as Error);
    session?.fail(error as Error);
    throw error;
  }
}

/** The client's {@link SessionLink}: reconnects with exponential delays until `resumeTimeout`. */
class Redial implements SessionLink {
  readonly closesLast = true;
  readonly #connect: Connect;
  readonly #options: ResolvedSessionOptions;
  readonly #minDelay: number;
  readonly #maxDelay: number;
  #controller: AbortController | undefined;

  constructor(connect: Connect, options: ResolvedSessionOptions, minDelay: number, maxDelay: number) {
    this.#connect = connect;
    this.#options = options;
    this.#minDelay = minDelay;
    this.#maxDelay = maxDelay;
  }

  lost(session: Session, error: Error): void {
    if (this.#controller !== undefined) return;
    const controller = new AbortController();
    this.#controller = controller;
    const timer = setTimeout(() => controller.abort(), this.#options.resumeTimeout);
    void this.#resume(session, controller.signal, error).finally(() => {
      clearTimeout(timer);
      if (this.#controller === controller) this.#controller = undefined;
    });
  }

  finished(): void {
    this.#controller?.abort();
  }

  async #resume(session: Session, signal: AbortSignal, cause: Error): Promise<void> {
    let last = cause;
    for (let failures = 0; !signal.aborted; failures++) {
      let connection: Connection | undefined;
      try {
        connection = await this.#connect({ signal });
        const welcome = await clientHandshake(connection, session.position(), { signal, timeout: this.#options.handshakeTimeout });
        if (signal.aborted || session.state === "closed") return void connection.close().catch(noop);
        const impossible = session.impossible(welcome);
        if (impossible !== undefined) throw new SessionProtocolError(`the server's Welcome ${impossible}`);
        session.attach(connection, welcome);
        return;
      } catch (error) {
        if (connection !== undefined) drop(connection, error as Error);
        if (error instanceof SessionUnknown) return session.forgotten(error);
        if (session.state === "closed") return;
        // The server broke the protocol, or refuses this session's Hello as impossible: every later attempt
        // would end the same way. Anything else, a connection cut inside a frame included, is a lost
        // connection: try again (docs/wire.md §8.2.6).
        if (error instanceof SessionProtocolError) return session.fail(error);
        if (error instanceof ResumeRefused) return session.fail(session.lostError(error.message, error));
        last = error as Error;
      }
      await sleep(this.#delay(failures), signal);
    }
    if (session.state !== "closed") {
      session.fail(session.lostError(`could not resume session ${session.id} within resumeTimeout (${this.#options.resumeTimeout} ms): ${last.message}`, last));
    }
  }

  #delay(failures: number): number {
    const base = Math.min(this.#maxDelay, this.#minDelay * 2 ** Math.min(failures, 30));
    return base * (0.8 + 0.4 * Math.random());
  }
}

/**
 * Ends a connection whose handshake failed with `error`: a server that broke the protocol is told why
 * (Goodbye with REASON_PROTOCOL, docs/wire.md §8) before the close; any other failure aborts it.
 */
function drop(connection: Connection, error: Error): void {
  if (!(error instanceof SessionProtocolError)) return connection.abort(error);
  connection.send(encodeGoodbye(ipc.Goodbye.Reason.REASON_PROTOCOL, error.message)).catch(noop);
  void connection.close({ timeout: 1000 }).catch(noop);
}

function limit(options: { signal?: AbortSignal | undefined; timeout?: number | undefined }, resolved: ResolvedSessionOptions) {
  return { signal: options.signal, timeout: Math.min(options.timeout ?? Infinity, resolved.handshakeTimeout) };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

const EMPTY = new Uint8Array(0);
