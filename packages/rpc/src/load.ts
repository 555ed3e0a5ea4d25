/**
 * `loadService(source, name)`: a {@link Service} from a .proto file, a protobufjs `Root`, or the module
 * `pbjs -t static-module` generated (typed by its `pbts` typings).
 */
import { InvalidArgumentError } from "@ipc/core";
import protobuf from "protobufjs";
import type { GeneratedMethod, GeneratedMethods } from "./generated.js";
import type { CallKind, DynamicMethods, MessageCodec, Method, Methods, Service } from "./method.js";

function kindOf(requestStream: boolean | undefined, responseStream: boolean | undefined): CallKind {
  if (requestStream) return responseStream ? "bidi" : "client-stream";
  return responseStream ? "server-stream" : "unary";
}

function isRoot(source: unknown): source is protobuf.Root {
  return typeof (source as protobuf.Root | null)?.lookupService === "function";
}

/** Names reserved for the client's own members: an rpc may not be called like one of them. */
export const RESERVED_METHOD_NAMES: ReadonlySet<string> = new Set(["close", "abort", "closed", "connection", "then"]);

function checkName(service: string, key: string, methods: Record<string, Method>): void {
  if (RESERVED_METHOD_NAMES.has(key)) {
    throw new InvalidArgumentError(
      `service ${service}: rpc '${key}' would hide the client's own '${key}' (reserved: ` + `${[...RESERVED_METHOD_NAMES].join(", ")}); rename the rpc`,
    );
  }
  if (key in methods) {
    throw new InvalidArgumentError(`service ${service} has two rpcs named '${key}' in lower camel case`);
  }
}

function fromRoot(root: protobuf.Root, name: string): Service {
  let service: protobuf.Service;
  try {
    service = root.lookupService(name);
    service.resolveAll();
  } catch (error) {
    throw new InvalidArgumentError(
      `no service ${name} in the .proto definitions given (${(error as Error).message}); name it with its package, e.g. "calc.Calculator"`,
      { cause: error },
    );
  }
  const full = service.fullName.replace(/^\./, "");
  if (full !== name.replace(/^\./, "")) {
    throw new InvalidArgumentError(`no service ${name} in the .proto definitions given; did you mean "${full}" (its full name)?`);
  }
  const methods: Record<string, Method> = Object.create(null);
  for (const method of service.methodsArray) {
    const key = protobuf.util.lcFirst(method.name);
    checkName(full, key, methods);
    const requestType = method.resolvedRequestType!;
    const responseType = method.resolvedResponseType!;
    methods[key] = Object.freeze({
      name: method.name,
      path: `/${full}/${method.name}`,
      kind: kindOf(method.requestStream, method.responseStream),
      requestTypeName: requestType.fullName.replace(/^\./, ""),
      responseTypeName: responseType.fullName.replace(/^\./, ""),
      requestType: requestType as unknown as MessageCodec<never, never>,
      responseType: responseType as unknown as MessageCodec<never, never>,
    });
  }
  return Object.freeze({ name: full, methods: Object.freeze(methods) });
}

/** The value at dotted `path` in a generated module, or undefined. */
function lookup(root: unknown, path: string): unknown {
  let value = root;
  for (const part of path.split(".")) {
    if (value === null || (typeof value !== "object" && typeof value !== "function")) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Resolves a message type name as written in the .proto file, from `scope` outwards, as protobuf does. */
function resolveMessage(root: unknown, scope: string, name: string, where: string): MessageCodec<never, never> {
  const candidates: string[] = [];
  if (name.startsWith(".")) {
    candidates.push(name.slice(1));
  } else {
    const parts = scope === "" ? [] : scope.split(".");
    for (let n = parts.length; n >= 0; n--) candidates.push([...parts.slice(0, n), name].join("."));
  }
  for (const candidate of candidates) {
    const found = lookup(root, candidate) as Partial<MessageCodec<never, never>> | undefined;
    if (typeof found?.encode === "function" && typeof found.decode === "function") {
      return found as MessageCodec<never, never>;
    }
  }
  throw new InvalidArgumentError(
    `${where}: message type ${name} is not in the generated module (looked for ${candidates.join(", ")}); ` +
      `generate the messages and the service into the same module`,
  );
}

function fromGenerated(root: object, name: string): Service {
  const serviceClass = lookup(root, name);
  const prototype = typeof serviceClass === "function" ? (serviceClass.prototype as Record<string, unknown> | undefined) : undefined;
  if (prototype === undefined) {
    throw new InvalidArgumentError(
      `no service ${name} in the generated module; name it with its package (e.g. "calc.Calculator"), and ` +
        `generate it with services (pbjs -t static-module without --no-service)`,
    );
  }
  const scope = name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : "";
  const methods: Record<string, Method> = Object.create(null);
  for (const key of Object.getOwnPropertyNames(prototype)) {
    const value = prototype[key];
    if (typeof value !== "function") continue;
    const generated = value as unknown as Partial<GeneratedMethod>;
    if (typeof generated.path !== "string") continue;
    checkName(name, key, methods);
    const where = `service ${name}, rpc ${String(generated.name)}`;
    const requestType = resolveMessage(root, scope, generated.requestType!, where);
    const responseType = resolveMessage(root, scope, generated.responseType!, where);
    methods[key] = Object.freeze({
      name: generated.name!,
      path: generated.path,
      kind: kindOf(generated.requestStream, generated.responseStream),
      requestTypeName: resolvedName(scope, generated.requestType!, root, requestType),
      responseTypeName: resolvedName(scope, generated.responseType!, root, responseType),
      requestType,
      responseType,
    });
  }
  if (Object.keys(methods).length === 0) {
    throw new InvalidArgumentError(`${name} in the generated module has no rpc methods: is it a service?`);
  }
  return Object.freeze({ name, methods: Object.freeze(methods) });
}

/** The full name a generated message class was found at (for error messages and logs). */
function resolvedName(scope: string, name: string, root: unknown, found: unknown): string {
  if (name.startsWith(".")) return name.slice(1);
  const parts = scope === "" ? [] : scope.split(".");
  for (let n = parts.length; n >= 0; n--) {
    const candidate = [...parts.slice(0, n), name].join(".");
    if (lookup(root, candidate) === found) return candidate;
  }
  return name;
}

/**
 * The service `name` (its full name, e.g. `"calc.Calculator"`) from a .proto file (its path; imports are
 * resolved next to it) or a protobufjs `Root` you loaded or built. Its message types are known only at
 * run time: declare them with the type parameter if you know them (`loadService<{ add: Unary<AddRequest,
 * AddReply> }>(…)`), or use generated code for types checked against the .proto file.
 *
 * Throws `InvalidArgumentError` when the file cannot be read or parsed, or has no such service.
 */
export function loadService<M extends Methods = DynamicMethods>(source: string | protobuf.Root, name: string): Service<M>;
/**
 * The service `name` from the module `pbjs -t static-module -w es6` generated from the .proto file
 * (`import * as generated from "./gen/calculator.js"`; generate services too: no `--no-service`). With
 * the typings `pbts` generates next to it, the client's methods and the handlers are fully typed.
 */
export function loadService<Root extends object, const Name extends string>(generated: Root, name: Name): Service<GeneratedMethods<Root, Name>>;
export function loadService(source: string | object, name: string): Service<Methods> {
  if (typeof name !== "string" || name.length === 0) {
    throw new InvalidArgumentError(`loadService() needs the service's full name, e.g. "calc.Calculator"`);
  }
  if (typeof source === "string") {
    let root: protobuf.Root;
    try {
      root = protobuf.loadSync(source);
    } catch (error) {
      throw new InvalidArgumentError(`cannot load ${source}: ${(error as Error).message}`, { cause: error });
    }
    return fromRoot(root, name) as unknown as Service<Methods>;
  }
  if (isRoot(source)) return fromRoot(source, name) as unknown as Service<Methods>;
  if (source !== null && typeof source === "object") return fromGenerated(source, name) as unknown as Service<Methods>;
  throw new InvalidArgumentError("loadService() takes a .proto file path, a protobufjs Root or a generated module");
}
