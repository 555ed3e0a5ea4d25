/**
 * Length-prefixed framing: turns a Node byte stream (a socket, a child's stdio, a FIFO) into a message
 * {@link Connection} and back. Each message is a 4-byte big-endian length N, then N bytes, as docs/wire.md §1
 * specifies (why: docs/guide.md#framing).
 *
 * - {@link framed}: the connection. Sends of one tick leave in one write; backpressure both ways;
 *   a length over `maxMessageSize` is a `FrameTooLargeError` and is never allocated; a stream that ends
 *   mid-frame is a `ProtocolError`.
 * - {@link FrameReader}: for sockets created with Node's `onread` option, reads large messages straight
 *   into their own arrays (transports use it).
 * - {@link awaitAccepted}, {@link refuse}, {@link statusMessage}: the status-frame handshake of the
 *   stream-socket transports (docs/wire.md).
 * - {@link FrameDecoder} and {@link encodeFrame}: the codec on its own, for tests, benchmarks and other
 *   byte sources.
 *
 * @packageDocumentation
 */
export type { Connection } from "@ipc/core";
export { DEFAULT_FRAME_TIMEOUT, framed, signalFrames, streamFraming, type ByteStream, type FramedOptions } from "./framed.js";
export { FrameDecoder, LEND_KEEP_MAX, type FrameDecoderOptions } from "./decoder.js";
export { FrameTimeoutError } from "./errors.js";
export { END_MARKER, MAX_END_REASON } from "./end-reason.js";
export { FrameReader, type FrameSink, type OnRead } from "./reader.js";
export {
  DEFAULT_HANDSHAKE_TIMEOUT,
  HandshakeStatus,
  awaitAccepted,
  isHandshakeTimeout,
  refuse,
  resolveHandshake,
  statusMessage,
  type HandshakeStatusCode,
} from "./handshake.js";
export { FrameWriter } from "./writer.js";
export { HEADER_SIZE, encodeFrame, writeHeader } from "./encoder.js";
