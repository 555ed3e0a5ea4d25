/**
 * C-compatible struct layouts (docs/guide.md#struct-layouts, docs/wire.md §5.2): declare fields once, get typed
 * accessors over a segment and the matching C declaration. Alignment and padding follow the C rules of Linux on
 * x86-64 and arm64 (`repr(C)`): every scalar is aligned to its size, an array to its element, a struct to its
 * most aligned field, and a struct's size is rounded up to its alignment. Little-endian, as those platforms
 * are.
 */
import { InvalidArgumentError } from "@ipc/core";

const SCALARS = {
  u8: { size: 1, c: "uint8_t", array: Uint8Array },
  i8: { size: 1, c: "int8_t", array: Int8Array },
  u16: { size: 2, c: "uint16_t", array: Uint16Array },
  i16: { size: 2, c: "int16_t", array: Int16Array },
  u32: { size: 4, c: "uint32_t", array: Uint32Array },
  i32: { size: 4, c: "int32_t", array: Int32Array },
  u64: { size: 8, c: "uint64_t", array: BigUint64Array },
  i64: { size: 8, c: "int64_t", array: BigInt64Array },
  f32: { size: 4, c: "float", array: Float32Array },
  f64: { size: 8, c: "double", array: Float64Array },
  bool: { size: 1, c: "bool", array: Uint8Array },
} as const;

/** A scalar field type. */
export type Scalar = keyof typeof SCALARS;
/** Integer scalars (what atomic operations work on). */
export type IntegerScalar = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "u64" | "i64";

/** A fixed-length array field: `array("i32", 10)`. */
export interface ArrayField<E extends Scalar | StructLayout = Scalar | StructLayout> {
  readonly kind: "array";
  readonly element: E;
  readonly length: number;
}

/** Any field type. */
export type FieldType = Scalar | ArrayField | StructLayout;
/** A struct's fields, in order. */
export type Fields = Readonly<Record<string, FieldType>>;

type TypedArrayOf<S extends Scalar> = InstanceType<(typeof SCALARS)[S]["array"]>;

/** What reading a field gives. */
export type ValueOf<T> = T extends "u64" | "i64"
  ? bigint
  : T extends "bool"
    ? boolean
    : T extends Scalar
      ? number
      : T extends ArrayField<infer E>
        ? E extends Scalar
          ? TypedArrayOf<E>
          : E extends StructLayout<infer G>
            ? readonly StructView<G>[]
            : never
        : T extends StructLayout<infer G>
          ? StructView<G>
          : never;

/** The integer fields of a struct (by name). */
type IntegerKeys<F extends Fields> = { [K in keyof F]: F[K] extends IntegerScalar ? K : never }[keyof F] & string;

/** Atomic operations on one integer field, across processes. */
export interface AtomicField<V extends number | bigint> {
  load(): V;
  store(value: V): V;
  add(value: V): V;
  sub(value: V): V;
  and(value: V): V;
  or(value: V): V;
  xor(value: V): V;
  exchange(value: V): V;
  compareExchange(expected: V, replacement: V): V;
}

/** A struct over a buffer: a property per field (scalars read/write; arrays and nested structs are views). */
export type StructView<F extends Fields> = { -readonly [K in keyof F]: F[K] extends Scalar ? ValueOf<F[K]> : ValueOf<F[K]> } & {
  /** Atomic operations on an integer field (it is aligned to its size, as Atomics requires). */
  atomic<K extends IntegerKeys<F>>(field: K): AtomicField<F[K] extends "u64" | "i64" ? bigint : number>;
  /** Copies every field into a plain object (a snapshot that no longer follows the buffer). */
  snapshot(): StructValue<F>;
};

/** A plain copy of a struct's fields. */
export type StructValue<F extends Fields> = {
  [K in keyof F]: F[K] extends Scalar
    ? ValueOf<F[K]>
    : F[K] extends ArrayField<infer E>
      ? E extends Scalar
        ? ValueOf<E>[]
        : StructValue<E extends StructLayout<infer G> ? G : never>[]
      : F[K] extends StructLayout<infer G>
        ? StructValue<G>
        : never;
};

interface Placed {
  readonly name: string;
  readonly type: FieldType;
  readonly offset: number;
}

function sizeOf(type: FieldType): number {
  if (typeof type === "string") return SCALARS[type].size;
  if (type instanceof StructLayout) return type.size;
  return sizeOf(type.element) * type.length;
}

function alignOf(type: FieldType): number {
  if (typeof type === "string") return SCALARS[type].size;
  if (type instanceof StructLayout) return type.align;
  return alignOf(type.element);
}

const RESERVED = new Set(["atomic", "snapshot", "constructor", "__proto__"]);

/** A struct layout: sizes, offsets, accessors, and its C declaration. */
export class StructLayout<F extends Fields = Fields> {
  /** Bytes, padding included. */
  readonly size: number;
  /** Alignment in bytes. */
  readonly align: number;
  /** The C name {@link StructLayout.toC} uses for it. */
  readonly cName: string | undefined;
  readonly #fields: readonly Placed[];
  readonly #View: new (
    data: DataView,
    base: number,
  ) => object;

  constructor(fields: F, cName?: string) {
    const placed: Placed[] = [];
    let offset = 0;
    let align = 1;
    for (const [name, type] of Object.entries(fields)) {
      if (RESERVED.has(name)) throw new InvalidArgumentError(`'${name}' cannot be a field name (it is reserved)`);
      checkType(type, name);
      const fieldAlign = alignOf(type);
      offset = Math.ceil(offset / fieldAlign) * fieldAlign;
      placed.push({ name, type, offset });
      offset += sizeOf(type);
      align = Math.max(align, fieldAlign);
    }
    this.align = align;
    this.size = Math.ceil(offset / align) * align;
    this.cName = cName;
    this.#fields = placed;
    this.#View = viewClass(placed);
  }

  /** The byte offset of a field within the struct. */
  offsetOf(field: keyof F & string): number {
    const found = this.#fields.find((f) => f.name === field);
    if (found === undefined) throw new InvalidArgumentError(`no field '${field}'`);
    return found.offset;
  }

  /** Accessors for the struct at `byteOffset` of `buffer` (which must be aligned and large enough). */
  view(buffer: ArrayBuffer, byteOffset = 0): StructView<F> {
    if (byteOffset % this.align !== 0) throw new InvalidArgumentError(`the struct needs ${this.align}-byte alignment; offset ${byteOffset} is not`);
    if (byteOffset + this.size > buffer.byteLength) {
      throw new InvalidArgumentError(`the struct needs ${this.size} bytes at offset ${byteOffset}; the buffer has ${buffer.byteLength}`);
    }
    return new this.#View(new DataView(buffer), byteOffset) as StructView<F>;
  }

  /**
   * The C declaration (C11, <stdint.h> and <stdbool.h>) of this struct named `name`, nested structs
   * first, with `_Static_assert`s on every offset and size — a C program including it fails to compile if
   * its layout differs.
   */
  toC(name: string = this.cName ?? "ipc_struct"): string {
    const declared = new Map<StructLayout, string>();
    const parts: string[] = [];
    const declare = (layout: StructLayout, cName: string): void => {
      if (declared.has(layout)) return;
      for (const field of layout.#fields) {
        const inner =
          field.type instanceof StructLayout
            ? field.type
            : typeof field.type !== "string" && field.type.element instanceof StructLayout
              ? field.type.element
              : undefined;
        if (inner !== undefined) declare(inner, inner.cName ?? `${cName}_${field.name}`);
      }
      declared.set(layout, cName);
      const lines = layout.#fields.map(
        (f) => `    ${cType(f.type, declared)} ${f.name}${typeof f.type !== "string" && !(f.type instanceof StructLayout) ? `[${f.type.length}]` : ""};`,
      );
      const asserts = layout.#fields.map((f) => `_Static_assert(offsetof(struct ${cName}, ${f.name}) == ${f.offset}, "${cName}.${f.name} offset");`);
      parts.push(
        `struct ${cName} {\n${lines.join("\n")}\n};\n${asserts.join("\n")}\n_Static_assert(sizeof(struct ${cName}) == ${layout.size}, "${cName} size");\n`,
      );
    };
    declare(this, name);
    return `#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n\n${parts.join("\n")}`;
  }

  /** The placed fields (for other layouts). */
  get fields(): readonly { readonly name: string; readonly offset: number }[] {
    return this.#fields;
  }
}

function checkType(type: FieldType, name: string): void {
  if (typeof type === "string") {
    if (!(type in SCALARS)) throw new InvalidArgumentError(`field '${name}': unknown type '${type}' (use ${Object.keys(SCALARS).join(", ")})`);
    return;
  }
  if (type instanceof StructLayout) return;
  if (type?.kind !== "array" || !Number.isInteger(type.length) || type.length < 1) {
    throw new InvalidArgumentError(`field '${name}': expected a scalar name, array(…) or struct(…)`);
  }
  checkType(type.element, name);
}

function cType(type: FieldType, declared: Map<StructLayout, string>): string {
  if (typeof type === "string") return SCALARS[type].c;
  if (type instanceof StructLayout) return `struct ${declared.get(type)}`;
  return cType(type.element, declared);
}

function readScalar(data: DataView, offset: number, type: Scalar): number | bigint | boolean {
  switch (type) {
    case "u8":
      return data.getUint8(offset);
    case "i8":
      return data.getInt8(offset);
    case "u16":
      return data.getUint16(offset, true);
    case "i16":
      return data.getInt16(offset, true);
    case "u32":
      return data.getUint32(offset, true);
    case "i32":
      return data.getInt32(offset, true);
    case "u64":
      return data.getBigUint64(offset, true);
    case "i64":
      return data.getBigInt64(offset, true);
    case "f32":
      return data.getFloat32(offset, true);
    case "f64":
      return data.getFloat64(offset, true);
    case "bool":
      return data.getUint8(offset) !== 0;
  }
}

function writeScalar(data: DataView, offset: number, type: Scalar, value: unknown): void {
  switch (type) {
    case "u8":
      return data.setUint8(offset, Number(value));
    case "i8":
      return data.setInt8(offset, Number(value));
    case "u16":
      return data.setUint16(offset, Number(value), true);
    case "i16":
      return data.setInt16(offset, Number(value), true);
    case "u32":
      return data.setUint32(offset, Number(value), true);
    case "i32":
      return data.setInt32(offset, Number(value), true);
    case "u64":
      return data.setBigUint64(offset, BigInt(value as bigint), true);
    case "i64":
      return data.setBigInt64(offset, BigInt(value as bigint), true);
    case "f32":
      return data.setFloat32(offset, Number(value), true);
    case "f64":
      return data.setFloat64(offset, Number(value), true);
    case "bool":
      return data.setUint8(offset, value ? 1 : 0);
  }
}

function fieldValue(data: DataView, base: number, field: Placed): unknown {
  const at = base + field.offset;
  const type = field.type;
  if (typeof type === "string") return readScalar(data, at, type);
  if (type instanceof StructLayout) return type.view(data.buffer as ArrayBuffer, data.byteOffset + at);
  const element = type.element;
  if (element instanceof StructLayout) {
    return Object.freeze(Array.from({ length: type.length }, (_, i) => element.view(data.buffer as ArrayBuffer, data.byteOffset + at + i * element.size)));
  }
  return new SCALARS[element].array(data.buffer as ArrayBuffer, data.byteOffset + at, type.length);
}

function plain(value: unknown): unknown {
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<unknown>);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object" && "snapshot" in value) return (value as { snapshot(): unknown }).snapshot();
  return value;
}

// Where a view keeps its buffer and offset: symbols, so no field name can collide with them.
const DATA = Symbol("data");
const BASE = Symbol("base");

/** A class whose instances read and write the placed fields of one struct. */
function viewClass(fields: readonly Placed[]): new (data: DataView, base: number) => object {
  class View {
    readonly [DATA]: DataView;
    readonly [BASE]: number;
    constructor(data: DataView, base: number) {
      this[DATA] = data;
      this[BASE] = base;
    }
  }
  const proto = View.prototype as unknown as Record<string, unknown>;
  const dataOf = (self: object): DataView => (self as View)[DATA];
  const baseOf = (self: object): number => (self as View)[BASE];
  for (const field of fields) {
    Object.defineProperty(proto, field.name, {
      enumerable: true,
      get(this: object) {
        return fieldValue(dataOf(this), baseOf(this), field);
      },
      set(this: object, value: unknown) {
        if (typeof field.type !== "string") throw new InvalidArgumentError(`'${field.name}' is not a scalar: write into its view instead`);
        writeScalar(dataOf(this), baseOf(this) + field.offset, field.type, value);
      },
    });
  }
  Object.defineProperty(proto, "atomic", {
    value(this: object, name: string) {
      const field = fields.find((f) => f.name === name);
      if (field === undefined || typeof field.type !== "string" || !["u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64"].includes(field.type)) {
        throw new InvalidArgumentError(`'${name}' is not an integer field`);
      }
      const data = dataOf(this);
      const cell = new SCALARS[field.type].array(data.buffer as ArrayBuffer, data.byteOffset + baseOf(this) + field.offset, 1) as unknown as Int32Array;
      const op = (f: (a: Int32Array, i: number, v: number) => number) => (v: number) => f(cell, 0, v);
      return {
        load: () => Atomics.load(cell, 0),
        store: op(Atomics.store),
        add: op(Atomics.add),
        sub: op(Atomics.sub),
        and: op(Atomics.and),
        or: op(Atomics.or),
        xor: op(Atomics.xor),
        exchange: op(Atomics.exchange),
        compareExchange: (expected: number, replacement: number) => Atomics.compareExchange(cell, 0, expected, replacement),
      };
    },
  });
  Object.defineProperty(proto, "snapshot", {
    value(this: Record<string, unknown>) {
      return Object.fromEntries(fields.map((f) => [f.name, plain(this[f.name])]));
    },
  });
  return View;
}

/** A fixed-length array field of `length` elements of `element`. */
export function array<E extends Scalar | StructLayout>(element: E, length: number): ArrayField<E> {
  return { kind: "array", element, length };
}

/** A struct layout with `fields`, in order; `cName` names it in {@link StructLayout.toC} when nested. */
export function struct<F extends Fields>(fields: F, cName?: string): StructLayout<F> {
  return new StructLayout(fields, cName);
}
