/**
 * `ipc doctor`: checks this machine for what the toolkit needs, and says what to do about each problem.
 * Exit code 1 when a check fails (warnings do not fail).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statfsSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { UNIX_PATH_MAX, listen, nativeSupport, shm, type NativeSupport } from "@ipc/kit";
import { describe, report } from "../fail.js";

/** One check's verdict: ok, a warning, or a failure with what to do. */
export interface Finding {
  readonly status: "ok" | "warn" | "fail";
  readonly what: string;
  /** What to do about it (warnings and failures). */
  readonly fix?: string | undefined;
}

type Check = () => Promise<Finding> | Finding;

const MIB = 1 << 20;

const checks: { readonly name: string; readonly fix?: string; readonly run: Check }[] = [
  {
    name: "Node.js",
    run: () =>
      Number(process.versions.node.split(".")[0]) >= 20
        ? { status: "ok", what: `Node.js ${process.version}` }
        : { status: "fail", what: `Node.js ${process.version} is too old`, fix: "install Node.js 20 or later" },
  },
  {
    name: "platform",
    run: () => {
      const native = nativeSupport();
      if (native.available) return { status: "ok", what: `${native.platform}: every native feature is available` };
      return {
        status: native.switchedOff ? "warn" : "fail",
        what: `${native.platform}: ${native.reason ?? "native calls cannot be made"}`,
        fix: native.switchedOff
          ? "unset IPC_NATIVE to use the native features listed below"
          : "what works without native calls is listed below; docs/platforms.md has the plan for other platforms",
      };
    },
  },
  {
    name: "koffi",
    fix: "reinstall without --ignore-scripts errors (koffi ships prebuilt binaries for linux x64/arm64), or check that node_modules/koffi exists",
    run: () => {
      const native = nativeSupport();
      if (native.koffiVersion !== undefined) {
        return { status: "ok", what: `koffi ${native.koffiVersion} loads (the FFI behind @ipc/native: shm, FIFOs, pipe sizes, peer credentials)` };
      }
      return { status: native.switchedOff ? "warn" : "fail", what: `koffi is not loaded: ${native.reason ?? "unknown"}` };
    },
  },
  { name: "native features", run: () => features(nativeSupport()) },
  {
    name: "/dev/shm",
    fix: "mount a tmpfs on /dev/shm (mount -t tmpfs -o size=512M tmpfs /dev/shm) or give the container --shm-size",
    run: () => {
      const native = nativeSupport();
      if (!native.available) return { status: "warn", what: `/dev/shm not checked: shared memory needs native calls (${native.reason ?? ""})` };
      const free = (() => {
        const s = statfsSync("/dev/shm");
        return s.bavail * s.bsize;
      })();
      const segment = shm.SharedMemory.create({ name: `ipc-doctor-${process.pid}`, size: 4096 });
      segment.close();
      segment.unlink();
      const what = `/dev/shm is writable, ${(free / MIB).toFixed(0)} MiB free`;
      return free < 64 * MIB
        ? { status: "warn", what, fix: "little room for rings: enlarge it (mount -o remount,size=512M /dev/shm, or docker --shm-size=512m)" }
        : { status: "ok", what };
    },
  },
  {
    name: "pipe-max-size",
    fix: "this is not Linux, or /proc is not mounted",
    run: () => {
      const max = Number(readFileSync("/proc/sys/fs/pipe-max-size", "utf8"));
      const what = `pipe-max-size ${max} B (the largest pipe setPipeCapacity can ask for)`;
      return max < MIB ? { status: "warn", what, fix: "for fast pipes raise it: sysctl fs.pipe-max-size=1048576" } : { status: "ok", what };
    },
  },
  {
    name: "Unix sockets",
    fix: "set TMPDIR to a writable directory with a short path",
    run: async () => {
      const dir = mkdtempSync(join(tmpdir(), "ipc-doctor-"));
      const room = UNIX_PATH_MAX - Buffer.byteLength(dir) - 1;
      try {
        const listener = await listen(`unix://${join(dir, "d.sock")}`);
        await listener.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const runtime = process.env.XDG_RUNTIME_DIR;
      const what = `Unix sockets bind in ${tmpdir()} (paths are limited to ${UNIX_PATH_MAX} bytes: ${room} left for names there)${runtime ? `; XDG_RUNTIME_DIR=${runtime}` : ""}`;
      return room < 32
        ? { status: "warn", what, fix: "socket paths under TMPDIR are long: set TMPDIR to a short directory, or use unix-abstract: names" }
        : { status: "ok", what };
    },
  },
  {
    name: "user",
    run: () => {
      const uid = process.getuid?.() ?? -1;
      return uid === 0
        ? {
            status: "warn",
            what: "running as root (uid 0): sockets and segments will be root's, 0600",
            fix: "run as the user the clients run as, or pass mode/allowUids to listen()",
          }
        : { status: "ok", what: `uid ${uid}, gid ${process.getgid?.() ?? -1}: sockets and segments are created 0600 for this user` };
    },
  },
  {
    name: "CPUs",
    run: () => {
      const taskset = spawnSync("taskset", ["-c", "0", "true"]).status === 0;
      const what = `${cpus().length} CPU(s); taskset ${taskset ? "works" : "is missing"}`;
      return taskset && cpus().length >= 2
        ? { status: "ok", what: `${what} (ipc bench pins each case and its peer)` }
        : { status: "warn", what, fix: "ipc bench numbers will be noisier: install util-linux (taskset) and use 2+ CPUs" };
    },
  },
];

/** The support table: one line per native feature, with what the packages do where it is missing. */
function features(native: NativeSupport): Finding {
  const lines = native.features.map((f) =>
    f.supported ? `    ✔ ${f.feature}: ${f.description}` : `    ✖ ${f.feature}: ${f.description}\n        without it: ${f.without}`,
  );
  const missing = native.features.filter((f) => !f.supported).length;
  const what = `native features (${native.features.length - missing} of ${native.features.length} available on ${native.platform}):\n${lines.join("\n")}`;
  return missing === 0 ? { status: "ok", what } : { status: "warn", what, fix: "see docs/platforms.md for what works without native calls" };
}

/** Runs every check; a check that throws is a failure carrying its error and the check's fix. */
export async function diagnose(): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const check of checks) {
    try {
      findings.push(await check.run());
    } catch (error) {
      findings.push({ status: "fail", what: `${check.name}: ${describe(error)}`, fix: check.fix });
    }
  }
  return findings;
}

export function doctorCommand(program: Command): void {
  program
    .command("doctor")
    .description("check this machine for what the toolkit needs, and say what to do about problems")
    .action(async () => {
      try {
        const findings = await diagnose();
        for (const f of findings) {
          const mark = f.status === "ok" ? "✔" : f.status === "warn" ? "!" : "✖";
          process.stdout.write(`${mark} ${f.what}${f.fix ? `\n    → ${f.fix}` : ""}\n`);
        }
        const failed = findings.filter((f) => f.status === "fail").length;
        process.stdout.write(failed === 0 ? "all checks passed\n" : `${failed} check(s) failed\n`);
        if (failed > 0) process.exitCode = 1;
      } catch (error) {
        report("doctor", error);
      }
    });
}
