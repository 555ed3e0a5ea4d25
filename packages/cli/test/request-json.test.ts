import { describe, expect, it } from "vitest";
import { rpc } from "@ipc/kit";
import { message } from "../src/request-json.js";

const root = rpc.protobuf.parse(`syntax = "proto3";
  package t;
  enum Color { RED = 0; GREEN = 1; }
  message Inner { int64 big = 1; }
  message Req {
    int32 user_id = 1; uint32 count = 2; string name = 3; bytes blob = 4; bool flag = 5; double ratio = 6;
    Color color = 7; repeated int32 list = 8; map<string, int32> tags = 9; Inner inner = 10;
    oneof pick { string x = 11; int32 y = 12; }
  }`).root;
const Req = root.lookupType("t.Req");

/** The UsageError message `message()` throws for `value`. */
function rejection(value: unknown): string {
  try {
    message(Req, value);
  } catch (error) {
    expect((error as Error).name).toBe("UsageError");
    return (error as Error).message;
  }
  throw new Error(`${JSON.stringify(value)} was accepted`);
}

describe("ipc call --data: JSON checked against the request type", () => {
  it("accepts every kind of field, by its .proto name or its lowerCamelCase name", () => {
    const json = {
      user_id: 7,
      count: 4294967295,
      name: "n",
      blob: "AAE=",
      flag: true,
      ratio: 1.5,
      color: "GREEN",
      list: [1, "2"],
      tags: { k: 3 },
      inner: { big: "9223372036854775807" },
      x: "picked",
    };
    const decoded = Req.toObject(Req.decode(Req.encode(Req.fromObject(message(Req, json))).finish()), { longs: String, enums: String, bytes: String });
    expect(decoded).toEqual({ ...json, user_id: undefined, userId: 7, list: [1, 2] });
    expect(message(Req, { userId: 7 })).toEqual({ userId: 7 });
  });

  it("null leaves a field at its default", () => {
    expect(message(Req, { name: null })).toEqual({});
  });

  it("an unknown field is an error that lists the fields (not silently dropped)", () => {
    expect(rejection({ usr_id: 1 })).toBe(
      "--data: Req has no field 'usr_id' (its fields: userId, count, name, blob, flag, ratio, color, list, tags, inner, x, y)",
    );
    expect(rejection({ inner: { small: 1 } })).toBe("--data.inner: Inner has no field 'small' (its fields: big)");
  });

  it("a value of the wrong type is an error (not coerced to 0 or false)", () => {
    expect(rejection({ user_id: "seven" })).toBe(`--data.user_id must be an integer (int32), got "seven"`);
    expect(rejection({ user_id: 1.5 })).toBe("--data.user_id must be an integer (int32), got 1.5");
    expect(rejection({ name: 1 })).toBe("--data.name must be a string, got 1");
    expect(rejection({ flag: "true" })).toBe(`--data.flag must be a boolean, got "true"`);
    expect(rejection({ ratio: "fast" })).toBe(`--data.ratio must be a number (double), got "fast"`);
    expect(rejection({ blob: "not base64!" })).toBe(`--data.blob must be base64 text (bytes), got "not base64!"`);
    expect(rejection({ color: "BLUE" })).toBe(`--data.color must be one of RED, GREEN (Color), got "BLUE"`);
    expect(rejection({ list: 3 })).toBe("--data.list must be a JSON array (repeated), got 3");
    expect(rejection({ list: [1, "a"] })).toBe(`--data.list[1] must be an integer (int32), got "a"`);
    expect(rejection({ tags: [] })).toBe("--data.tags must be a JSON object (a map), got []");
    expect(rejection({ inner: 5 })).toBe("--data.inner must be a JSON object (t.Inner), got 5");
    expect(rejection([])).toBe("--data must be a JSON object (t.Req), got []");
  });

  it("a number out of its type's range is an error (not wrapped around)", () => {
    expect(rejection({ user_id: 2 ** 31 })).toBe("--data.user_id is out of range for int32 (-2147483648 to 2147483647), got 2147483648");
    expect(rejection({ count: -1 })).toBe("--data.count is out of range for uint32 (0 to 4294967295), got -1");
    expect(rejection({ inner: { big: "9223372036854775808" } })).toMatch(/^--data\.inner\.big is out of range for int64/);
  });

  it("two fields of one oneof is an error", () => {
    expect(rejection({ x: "a", y: 1 })).toBe("--data: 'x' and 'y' are both of oneof pick: set one");
  });
});
