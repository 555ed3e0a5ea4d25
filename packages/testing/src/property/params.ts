/**
 * Settings of the property tests (fast-check). In the test suite every property runs with a fixed seed and a
 * modest number of runs, so a run is reproducible and quick. `node scripts/fuzz.mjs` runs them long with random
 * seeds through the environment:
 *
 * - `FC_SEED`: the seed (an integer); default a fixed one.
 * - `FC_RUNS`: runs of every property; default each property's own (costly ones divide it by their cost).
 * - `FC_PATH`: with `FC_SEED`, replays the one counterexample fast-check printed ("seed: …, path: …").
 */
import type fc from "fast-check";

/** The seed of the test suite's runs. */
export const FIXED_SEED = 0x16_16_16;

function integerFromEnv(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got '${text}'`);
  return value;
}

/**
 * fast-check parameters for a property that runs `runs` times in the suite. `cost`: how many times slower one
 * run is than a cheap one (a property over connections); under `FC_RUNS` it runs `FC_RUNS / cost` times.
 */
export function params<T>(runs: number, cost = 1): fc.Parameters<T> {
  const seed = integerFromEnv("FC_SEED") ?? FIXED_SEED;
  const fuzzRuns = integerFromEnv("FC_RUNS");
  const path = process.env.FC_PATH;
  return {
    seed,
    numRuns: fuzzRuns === undefined ? runs : Math.max(1, Math.floor(fuzzRuns / cost)),
    // The failed assertion's message in the report itself, where test reporters and scripts/fuzz.mjs see it.
    includeErrorInReport: true,
    // A replayed counterexample is reported as it was found, not shrunk further.
    ...(path === undefined || path === "" ? {} : { path, endOnFailure: true }),
  };
}
