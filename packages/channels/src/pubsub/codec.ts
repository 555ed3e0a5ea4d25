/** Pub/sub messages (proto/ipc.proto: Subscribe, Publish, Goodbye) to and from bytes. */
import { ProtocolError } from "@ipc/core";
import { ipc } from "@ipc/core/proto";
import { safe } from "../reliable/codec.js";

export interface SubscribeRequest {
  readonly topics: readonly string[];
  readonly prefixes: readonly string[];
  readonly history: number;
}

export type PubSubFrame =
  | ({ readonly kind: "subscribe" } & SubscribeRequest)
  | { readonly kind: "publish"; readonly topic: string; readonly payload: Uint8Array; readonly dropped: number }
  | { readonly kind: "goodbye"; readonly reason: ipc.Goodbye.Reason; readonly message: string };

export function encodeSubscribe(request: SubscribeRequest): Uint8Array {
  return ipc.IpcMessage.encode({ subscribe: { topics: [...request.topics], prefixes: [...request.prefixes], history: request.history } }).finish();
}

export function encodePublish(topic: string, payload: Uint8Array, dropped: number): Uint8Array {
  return ipc.IpcMessage.encode({ publish: { topic, payload, dropped } }).finish();
}

export function encodeGoodbye(reason: ipc.Goodbye.Reason, message: string): Uint8Array {
  return ipc.IpcMessage.encode({ goodbye: { reason, message } }).finish();
}

/** Decodes one pub/sub message; throws `ProtocolError` on anything else. */
export function decodePubSubFrame(bytes: Uint8Array, where: string): PubSubFrame {
  let message: ipc.IpcMessage;
  try {
    message = ipc.IpcMessage.decode(bytes);
  } catch (error) {
    throw new ProtocolError(`${where}: received ${bytes.byteLength} bytes that are not an ipc.IpcMessage envelope`, { cause: error });
  }
  switch (message.kind) {
    case "subscribe":
      return {
        kind: "subscribe",
        topics: message.subscribe!.topics ?? [],
        prefixes: message.subscribe!.prefixes ?? [],
        history: message.subscribe!.history ?? 0,
      };
    case "publish":
      return {
        kind: "publish",
        topic: message.publish!.topic ?? "",
        payload: message.publish!.payload ?? new Uint8Array(0),
        dropped: safe(message.publish!.dropped),
      };
    case "goodbye":
      return { kind: "goodbye", reason: message.goodbye!.reason ?? 0, message: message.goodbye!.message ?? "" };
    default:
      throw new ProtocolError(`${where}: received ${message.kind ?? "an empty envelope"}, which pub/sub does not use here`);
  }
}
