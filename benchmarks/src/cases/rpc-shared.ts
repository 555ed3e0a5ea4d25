/** What the RPC cases of @ipc/rpc and of the other libraries share: the calculator service. */

/** The calculator: `Add` (unary) and `Count` (a server stream of `count` chunks of `size` bytes). */
export const CALCULATOR_PROTO = `
syntax = "proto3";
package calc;
service Calculator {
  rpc Add (AddRequest) returns (Result);
  rpc Count (CountRequest) returns (stream Chunk);
}
message AddRequest { int32 a = 1; int32 b = 2; }
message Result { int32 value = 1; }
message CountRequest { uint32 count = 1; uint32 size = 2; }
message Chunk { bytes data = 1; }
`;

export interface AddRequest {
  a: number;
  b: number;
}
export interface Result {
  value: number;
}
export interface CountRequest {
  count: number;
  size: number;
}
export interface Chunk {
  data: Uint8Array;
}

/** Calls kept in flight when measuring calls per second. */
export const IN_FLIGHT = 256;

export const RPC_RTT = "RPC unary round trip (Add), Unix socket";
export const RPC_RATE = "RPC pipelined unary calls (Add), one connection";
