/** The @ipc/tcp cases of `pnpm bench` (none yet). */
import type { CaseModule } from "../lib/case.js";

export const tcpCases: CaseModule = { cases: [], groupMetrics: {} };
