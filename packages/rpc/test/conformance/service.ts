/**
 * The service every RPC case calls, and its implementation: served in this process or in a worker child
 * process. Everything a case checks on the server side (why a handler's signal aborted, how far a stream
 * got, the server's load) is readable through rpcs too, so the same cases run across processes.
 */
import {
  RpcError,
  loadService,
  protobuf,
  statusName,
  type Bidi,
  type CallContext,
  type ClientStream,
  type Implementation,
  type Server,
  type ServerStream,
  type Unary,
} from "@ipc/rpc";

export const TEST_PROTO = `
syntax = "proto3";
package ipc.conformance;

service Test {
  rpc Echo (EchoRequest) returns (EchoReply);
  rpc Fail (FailRequest) returns (EchoReply);
  rpc Hang (TagRequest) returns (EchoReply);
  rpc Aborted (TagRequest) returns (AbortedReply);
  rpc Release (TagRequest) returns (Empty);
  rpc Count (CountRequest) returns (stream Chunk);
  rpc Progress (TagRequest) returns (ProgressReply);
  rpc Sum (stream Chunk) returns (SumReply);
  rpc Chat (stream EchoRequest) returns (stream EchoReply);
  rpc Big (CountRequest) returns (Chunk);
  rpc Stats (Empty) returns (StatsReply);
}

message Empty {}
message EchoRequest { bytes payload = 1; string text = 2; uint32 delay_ms = 3; }
message EchoReply {
  bytes payload = 1;
  string text = 2;
  map<string, string> metadata = 3;
  double deadline = 4;
  int32 peer_pid = 5;
}
message FailRequest { uint32 status = 1; string message = 2; bytes details = 3; bool plain = 4; }
message TagRequest { string tag = 1; }
message AbortedReply { string status = 1; }
message CountRequest { uint32 count = 1; uint32 size = 2; string tag = 3; uint32 fail_after = 4; }
message Chunk { uint32 seq = 1; bytes data = 2; }
message ProgressReply { uint32 produced = 1; }
message SumReply { uint32 count = 1; uint32 bytes = 2; }
message StatsReply { uint32 connections = 1; uint32 calls_running = 2; uint32 calls_queued = 3; uint32 pending_response_bytes = 4; }
`;

export interface EchoRequest {
  payload: Uint8Array;
  text: string;
  delayMs: number;
}
export interface EchoReply {
  payload: Uint8Array;
  text: string;
  metadata: Record<string, string>;
  deadline: number;
  peerPid: number;
}
export interface FailRequest {
  status: number;
  message: string;
  details: Uint8Array;
  plain: boolean;
}
export interface TagRequest {
  tag: string;
}
export interface AbortedReply {
  status: string;
}
export interface CountRequest {
  count: number;
  size: number;
  tag: string;
  failAfter: number;
}
export interface Chunk {
  seq: number;
  data: Uint8Array;
}
export interface ProgressReply {
  produced: number;
}
export interface SumReply {
  count: number;
  bytes: number;
}
export interface StatsReply {
  connections: number;
  callsRunning: number;
  callsQueued: number;
  pendingResponseBytes: number;
}
export type Empty = Record<string, never>;

/** The test service's methods, typed by hand (the service is loaded from the .proto text at run time). */
export type TestMethods = {
  readonly echo: Unary<EchoRequest, EchoReply, Partial<EchoRequest>, Partial<EchoReply>>;
  readonly fail: Unary<FailRequest, EchoReply, Partial<FailRequest>, Partial<EchoReply>>;
  readonly hang: Unary<TagRequest, EchoReply, Partial<TagRequest>, Partial<EchoReply>>;
  readonly aborted: Unary<TagRequest, AbortedReply, Partial<TagRequest>, Partial<AbortedReply>>;
  readonly release: Unary<TagRequest, Empty, Partial<TagRequest>, Empty>;
  readonly count: ServerStream<CountRequest, Chunk, Partial<CountRequest>, Partial<Chunk>>;
  readonly progress: Unary<TagRequest, ProgressReply, Partial<TagRequest>, Partial<ProgressReply>>;
  readonly sum: ClientStream<Chunk, SumReply, Partial<Chunk>, Partial<SumReply>>;
  readonly chat: Bidi<EchoRequest, EchoReply, Partial<EchoRequest>, Partial<EchoReply>>;
  readonly big: Unary<CountRequest, Chunk, Partial<CountRequest>, Partial<Chunk>>;
  readonly stats: Unary<Empty, StatsReply, Empty, Partial<StatsReply>>;
};

export const testService = loadService<TestMethods>(protobuf.parse(TEST_PROTO).root, "ipc.conformance.Test");

/** A promise with its resolve function, settled once. */
class Latch<T> {
  readonly promise: Promise<T>;
  resolve!: (value: T) => void;
  constructor() {
    this.promise = new Promise<T>((resolve) => (this.resolve = resolve));
  }
}

/** What one server instance remembers between calls, by tag. */
class Observations {
  readonly #aborted = new Map<string, Latch<string>>();
  readonly #released = new Map<string, Latch<void>>();
  readonly produced = new Map<string, number>();

  aborted(tag: string): Latch<string> {
    let latch = this.#aborted.get(tag);
    if (latch === undefined) this.#aborted.set(tag, (latch = new Latch()));
    return latch;
  }

  released(tag: string): Latch<void> {
    let latch = this.#released.get(tag);
    if (latch === undefined) this.#released.set(tag, (latch = new Latch()));
    return latch;
  }
}

/** Records why `context.signal` aborted under `tag`. */
function watchAbort(observations: Observations, tag: string, context: CallContext): void {
  if (tag === "") return;
  const record = (): void => observations.aborted(tag).resolve((context.signal.reason as RpcError | undefined)?.status ?? "ABORTED");
  if (context.signal.aborted) record();
  else context.signal.addEventListener("abort", record, { once: true });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });
}

/** A fresh implementation of the test service, and what a case in the same process can do to it. */
export interface TestService {
  readonly implementation: Implementation<TestMethods>;
  /** Lets the calls waiting on `tag` go on (what the `Release` rpc does). */
  release(tag: string): void;
  /** Resolves with the status of the reason the handler tagged `tag` saw its signal abort with. */
  aborted(tag: string): Promise<string>;
}

/**
 * A fresh implementation of the test service. `server()` gives the `Stats` rpc the server to report on
 * (it is made after the implementation). Metadata `gate: tag` holds an `Echo` until `tag` is released;
 * `hold: tag` holds a `Sum` before it reads any request.
 */
export function createTestService(server: () => Server | undefined): TestService {
  const observations = new Observations();
  const implementation: Implementation<TestMethods> = {
    echo: async (request: EchoRequest, context: CallContext): Promise<Partial<EchoReply>> => {
      const gate = context.metadata.gate;
      if (gate !== undefined) await observations.released(gate).promise;
      if (request.delayMs > 0) await sleep(request.delayMs, context.signal);
      return {
        payload: request.payload,
        text: request.text,
        metadata: { ...context.metadata },
        deadline: context.deadline?.getTime() ?? 0,
        peerPid: context.peer?.pid ?? -1,
      };
    },
    fail: (request: FailRequest): Partial<EchoReply> => {
      if (request.plain) throw new Error(request.message);
      const status = statusName(request.status);
      throw new RpcError(status === "OK" ? "UNKNOWN" : status, request.message, {
        details: request.details?.byteLength > 0 ? request.details : undefined,
      });
    },
    hang: async (request: TagRequest, context: CallContext): Promise<Partial<EchoReply>> => {
      watchAbort(observations, request.tag, context);
      await new Promise((resolve) => context.signal.addEventListener("abort", resolve, { once: true }));
      return { text: "aborted" };
    },
    aborted: async (request: TagRequest): Promise<Partial<AbortedReply>> => ({ status: await observations.aborted(request.tag).promise }),
    release: (request: TagRequest): Empty => {
      observations.released(request.tag).resolve();
      return {};
    },
    count: async function* (request: CountRequest, context: CallContext): AsyncGenerator<Partial<Chunk>> {
      watchAbort(observations, request.tag, context);
      const data = new Uint8Array(request.size).fill(0x5a);
      for (let seq = 0; seq < request.count; seq++) {
        if (request.failAfter > 0 && seq === request.failAfter) throw new RpcError("ABORTED", `stopped after ${seq} chunks`);
        observations.produced.set(request.tag, seq + 1);
        yield { seq, data };
      }
    },
    progress: (request: TagRequest): Partial<ProgressReply> => ({ produced: observations.produced.get(request.tag) ?? 0 }),
    sum: async (requests: AsyncIterable<Chunk>, context: CallContext): Promise<Partial<SumReply>> => {
      const hold = context.metadata.hold;
      if (hold !== undefined) await observations.released(hold).promise;
      let count = 0;
      let bytes = 0;
      for await (const chunk of requests) {
        count++;
        bytes += chunk.data.byteLength;
      }
      return { count, bytes };
    },
    chat: async function* (requests: AsyncIterable<EchoRequest>): AsyncGenerator<Partial<EchoReply>> {
      for await (const request of requests) yield { text: request.text, payload: request.payload };
    },
    big: (request: CountRequest): Partial<Chunk> => ({ seq: 1, data: new Uint8Array(request.size).fill(7) }),
    stats: (): Partial<StatsReply> => {
      const stats = server()?.stats();
      // This call is running too: leave it out.
      return stats === undefined ? {} : { ...stats, callsRunning: stats.callsRunning - 1 };
    },
  };
  return {
    implementation,
    release: (tag) => observations.released(tag).resolve(),
    aborted: (tag) => observations.aborted(tag).promise,
  };
}
