/**
 * Where the cases are: one module per file under cases/, loaded by name, so that a worker process loads only
 * the module of its case (and a case's other libraries only inside its own functions).
 */
import type { BenchCase, Budget, CaseModule, CaseParams, Group, MetricSpec, Regime } from "./case.js";

/** The case modules, in report order. */
const MODULES = {
  codec: () => import("../cases/codec.js"),
  raw: () => import("../cases/raw.js"),
  transports: () => import("../cases/transports.js"),
  shm: () => import("../cases/shm.js"),
  pipe: () => import("../cases/pipe.js"),
  rpc: () => import("../cases/rpc.js"),
  "rpc-peers": () => import("../cases/rpc-peers.js"),
  "message-peers": () => import("../cases/message-peers.js"),
  channels: () => import("../cases/channels.js"),
  clients: () => import("../cases/clients.js"),
  nats: () => import("../cases/nats.js"),
} satisfies Record<string, () => Promise<{ module: CaseModule }>>;

export type ModuleName = keyof typeof MODULES;
export const MODULE_NAMES = Object.keys(MODULES) as ModuleName[];

/** What a worker process is told (one JSON argument). */
export interface WorkerSpec {
  readonly module: ModuleName;
  readonly id: string;
  readonly params: CaseParams;
  readonly dir: string;
  readonly budget: Budget;
  readonly regime: Regime;
  readonly cpu?: string | undefined;
  readonly peerCpu?: string | undefined;
  /** Options for node in the case's processes (`--cpu-prof --cpu-prof-dir=…` with `--cpu-prof DIR`). */
  readonly nodeArgs?: readonly string[] | undefined;
  /** Absent: measure. `peer` / `child`: be that side of the case, with `arg`. */
  readonly role?: "peer" | "child";
  readonly arg?: string;
}

export async function loadModule(name: ModuleName): Promise<CaseModule> {
  const load = MODULES[name];
  if (load === undefined) throw new Error(`unknown case module '${String(name)}'`);
  return (await load()).module;
}

/** The metrics every module may use. */
const SHARED_METRICS: Record<string, MetricSpec> = {
  "frames/s": { unit: "M frames/s", higherIsBetter: true, scale: 1e6 },
  "msgs/s": { unit: "M msgs/s", higherIsBetter: true, scale: 1e6 },
  "calls/s": { unit: "k calls/s", higherIsBetter: true, scale: 1e3 },
  "bytes/s": { unit: "GB/s", higherIsBetter: true, scale: 1e9 },
  "p50 µs": { unit: "µs p50", higherIsBetter: false },
  "p99 µs": { unit: "µs p99", higherIsBetter: false },
};

/** Every case (with the module it lives in), every group (merged by title), every metric. */
export interface Catalogue {
  readonly cases: ReadonlyMap<string, { readonly bench: BenchCase; readonly module: ModuleName }>;
  readonly groups: readonly Group[];
  readonly metrics: Readonly<Record<string, MetricSpec>>;
}

export async function catalogue(params: CaseParams): Promise<Catalogue> {
  const cases = new Map<string, { bench: BenchCase; module: ModuleName }>();
  const groups = new Map<string, Group>();
  const metrics: Record<string, MetricSpec> = { ...SHARED_METRICS };
  for (const name of MODULE_NAMES) {
    const module = await loadModule(name);
    for (const bench of module.cases(params)) {
      if (cases.has(bench.id)) throw new Error(`two cases are called '${bench.id}' (${cases.get(bench.id)!.module} and ${name})`);
      cases.set(bench.id, { bench, module: name });
    }
    for (const group of module.groups?.(params) ?? []) {
      const known = groups.get(group.title);
      groups.set(
        group.title,
        known === undefined
          ? group
          : {
              ...known,
              metrics: [...new Set([...known.metrics, ...group.metrics])],
              rows: [...known.rows, ...group.rows],
              targets: [...(known.targets ?? []), ...(group.targets ?? [])],
              profiles: [...new Set([...(known.profiles ?? []), ...(group.profiles ?? [])])],
            },
      );
    }
    Object.assign(metrics, module.metrics ?? {});
  }
  for (const group of groups.values()) {
    for (const row of group.rows) if (!cases.has(row.case)) throw new Error(`group '${group.title}' names an unknown case '${row.case}'`);
    for (const metric of group.metrics) if (metrics[metric] === undefined) throw new Error(`group '${group.title}' shows an unknown metric '${metric}'`);
  }
  return { cases, groups: [...groups.values()], metrics };
}
