/** The @ipc/shm cases of `pnpm bench` (none yet). */
import type { CaseModule } from "../lib/case.js";

export const shmCases: CaseModule = { cases: [], groupMetrics: {} };
