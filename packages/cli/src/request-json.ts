/**
 * `ipc call --data`: a request written as JSON (proto3's JSON mapping), checked against its message type
 * before protobufjs sees it. protobufjs's `fromObject` forgives everything — an unknown field is dropped,
 * `"x"` becomes 0, 2^31 wraps to -2^31 — so a typo would silently send a different request.
 */
import { rpc } from "@ipc/kit";
import { UsageError } from "./fail.js";

const INT32 = [-(2 ** 31), 2 ** 31 - 1] as const;
const UINT32 = [0, 2 ** 32 - 1] as const;
const INT64 = [-(2n ** 63n), 2n ** 63n - 1n] as const;
const UINT64 = [0n, 2n ** 64n - 1n] as const;
const RANGES: Readonly<Record<string, readonly [number, number] | readonly [bigint, bigint]>> = {
  int32: INT32,
  sint32: INT32,
  sfixed32: INT32,
  uint32: UINT32,
  fixed32: UINT32,
  int64: INT64,
  sint64: INT64,
  sfixed64: INT64,
  uint64: UINT64,
  fixed64: UINT64,
};

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** An integer of a protobuf integer type: a JSON number or a decimal string (proto3 JSON), in range. */
function integer(type: string, value: unknown, where: string): void {
  const [min, max] = RANGES[type]!;
  const text = typeof value === "number" && Number.isInteger(value) ? String(value) : typeof value === "string" ? value.trim() : "";
  if (!/^-?\d+$/.test(text)) throw new UsageError(`${where} must be an integer (${type}), got ${show(value)}`);
  if (BigInt(text) < BigInt(min) || BigInt(text) > BigInt(max)) {
    throw new UsageError(`${where} is out of range for ${type} (${min} to ${max}), got ${show(value)}`);
  }
}

function scalar(field: rpc.protobuf.Field, value: unknown, where: string): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof rpc.protobuf.Type) return message(resolved, value, where);
  if (resolved instanceof rpc.protobuf.Enum) {
    if (typeof value === "string" ? value in resolved.values : Number.isInteger(value)) return value;
    throw new UsageError(`${where} must be one of ${Object.keys(resolved.values).join(", ")} (${resolved.name}), got ${show(value)}`);
  }
  const type = field.type;
  if (type in RANGES) integer(type, value, where);
  else if (type === "double" || type === "float") {
    if (typeof value !== "number" && !["NaN", "Infinity", "-Infinity"].includes(value as string)) {
      throw new UsageError(`${where} must be a number (${type}), got ${show(value)}`);
    }
  } else if (type === "bool" || type === "string") {
    const expected = type === "bool" ? "boolean" : "string";
    if (typeof value !== expected) throw new UsageError(`${where} must be a ${expected}, got ${show(value)}`);
  } else if (type === "bytes" && (typeof value !== "string" || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value))) {
    throw new UsageError(`${where} must be base64 text (bytes), got ${show(value)}`);
  }
  return value;
}

function fieldValue(field: rpc.protobuf.Field, value: unknown, where: string): unknown {
  if (field instanceof rpc.protobuf.MapField) {
    if (!isObject(value)) throw new UsageError(`${where} must be a JSON object (a map), got ${show(value)}`);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scalar(field, v, `${where}.${k}`)]));
  }
  if (field.repeated) {
    if (!Array.isArray(value)) throw new UsageError(`${where} must be a JSON array (repeated), got ${show(value)}`);
    return value.map((v, i) => scalar(field, v, `${where}[${i}]`));
  }
  return scalar(field, value, where);
}

/**
 * `value` checked against `type`, field names as in the .proto file or in lowerCamelCase (proto3 JSON takes
 * both; protobufjs only the latter): the object to give `type.fromObject()`. Throws a UsageError that
 * names the field and what it must be.
 */
export function message(type: rpc.protobuf.Type, value: unknown, where = "--data"): Record<string, unknown> {
  if (!isObject(value)) throw new UsageError(`${where} must be a JSON object (${type.fullName.replace(/^\./, "")}), got ${show(value)}`);
  const out: Record<string, unknown> = {};
  const oneofs = new Map<string, string>();
  for (const [key, item] of Object.entries(value)) {
    const field = type.fields[key] ?? type.fields[rpc.protobuf.util.camelCase(key)];
    if (field === undefined) {
      const known = type.fieldsArray.map((f) => f.name).join(", ") || "none";
      throw new UsageError(`${where}: ${type.name} has no field '${key}' (its fields: ${known})`);
    }
    if (item === null) continue; // proto3 JSON: null is the field's default
    field.resolve();
    const oneof = field.partOf?.name;
    if (oneof !== undefined) {
      if (oneofs.has(oneof)) throw new UsageError(`${where}: '${oneofs.get(oneof)}' and '${key}' are both of oneof ${oneof}: set one`);
      oneofs.set(oneof, key);
    }
    out[field.name] = fieldValue(field, item, `${where}.${key}`);
  }
  return out;
}
