/** The @ipc/pipe cases of `pnpm bench` (none yet). */
import type { CaseModule } from "../lib/case.js";

export const pipeCases: CaseModule = { cases: [], groupMetrics: {} };
