/** The @ipc/rpc cases of `pnpm bench` (none yet). */
import type { CaseModule } from "../lib/case.js";

export const rpcCases: CaseModule = { cases: [], groupMetrics: {} };
