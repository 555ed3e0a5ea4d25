/**
 * `@ipc/testing/property`: what the property tests (fast-check) of every package share — their settings (a fixed
 * seed in the suite; `FC_SEED`, `FC_RUNS`, `FC_PATH` for `node scripts/fuzz.mjs` and replays) and the byte
 * sequences a hostile or broken peer may send. Loads fast-check: install it beside (a peer dependency).
 *
 * @packageDocumentation
 */
export { FIXED_SEED, params } from "./params.js";
export { type Edit, apply, mutated, edits, hostile, isProtocolError, decodeOrProtocolError } from "./mutate.js";
