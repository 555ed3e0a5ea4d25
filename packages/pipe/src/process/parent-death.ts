/**
 * A child that dies with its parent (`dieWithParent`, docs/platforms.md): on Linux the kernel sends the
 * child a signal when its parent exits, however it exits — SIGKILL included — through
 * `prctl(PR_SET_PDEATHSIG)`. Node's spawn cannot make that call between fork and exec, so the child is
 * started through util-linux's `setpriv --pdeathsig <signal> -- <command> <args…>`: setpriv makes the call
 * and execs the command in the same process (same pid, any program, about 1 ms more per spawn). Where
 * setpriv is missing (or too old to know `--pdeathsig`), or on another system, the child is started as
 * it is: the default quietly does without, an explicit request is an `UnsupportedError`.
 *
 * The kernel's rule is about the THREAD that forked: a child started from a worker thread would die when
 * that worker ends, so there the default is off.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { constants as os } from "node:os";
import { delimiter, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isMainThread } from "node:worker_threads";
import { InvalidArgumentError, UnsupportedError } from "@ipc/core";

const signals: Readonly<Record<string, number>> = os.signals;

/** Where setpriv was found (and knows `--pdeathsig`); `null`: nowhere; `undefined`: not looked yet. */
let setpriv: string | null | undefined;

/** The path of a setpriv that knows `--pdeathsig`, looked up once per process; undefined if none. */
export function findSetpriv(): string | undefined {
  if (setpriv === undefined) {
    setpriv = null;
    if (process.platform === "linux") {
      const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/bin", "/bin", "/usr/sbin", "/sbin"];
      for (const dir of dirs) {
        if (dir === "" || !isExecutableFile(resolve(dir, "setpriv"))) continue;
        const help = spawnSync(resolve(dir, "setpriv"), ["--help"], { encoding: "utf8", timeout: 10_000 });
        if (help.status === 0 && help.stdout.includes("--pdeathsig")) setpriv = resolve(dir, "setpriv");
        break;
      }
    }
  }
  return setpriv ?? undefined;
}

/**
 * The signal a child gets when its parent dies, from the `dieWithParent` option: `true` is SIGKILL, a
 * signal name is that signal, `false` none. Undefined (the default): SIGKILL from the main thread of a
 * Linux process that has setpriv, none otherwise. An explicit request that cannot be met throws.
 */
export function resolveDieWithParent(option: boolean | NodeJS.Signals | undefined): NodeJS.Signals | undefined {
  if (option === false) return undefined;
  if (option !== undefined && option !== true && (typeof option !== "string" || !Object.hasOwn(signals, option))) {
    throw new InvalidArgumentError(`dieWithParent must be true, false or a signal name such as "SIGTERM", got ${JSON.stringify(option)}`);
  }
  const signal: NodeJS.Signals = option === undefined || option === true ? "SIGKILL" : option;
  if (option === undefined) return isMainThread && findSetpriv() !== undefined ? signal : undefined;
  if (findSetpriv() === undefined) {
    throw new UnsupportedError(
      process.platform === "linux"
        ? "dieWithParent needs util-linux's setpriv with --pdeathsig (util-linux ≥ 2.33) on the PATH or in /usr/bin; install util-linux, or pass dieWithParent: false"
        : `dieWithParent is Linux only (prctl PR_SET_PDEATHSIG); on ${process.platform} pass dieWithParent: false (see docs/platforms.md)`,
      "pipe.dieWithParent",
      `${process.platform}-${process.arch}`,
    );
  }
  return signal;
}

/**
 * The command line that starts `command` so that it dies with this process: setpriv, which execs the
 * command itself. Before that, the command is looked up as the spawn would (PATH of the child's
 * environment, relative to its cwd), so that a missing or non-executable command is still the spawn's
 * own ENOENT / EACCES error rather than setpriv's exit status 127 / 126.
 */
export function withParentDeath(
  command: string,
  args: readonly string[],
  signal: NodeJS.Signals,
  cwd: string | URL | undefined,
  env: NodeJS.ProcessEnv | undefined,
): [string, string[]] {
  const failure = lookUp(command, cwd === undefined ? process.cwd() : typeof cwd === "string" ? resolve(cwd) : fileURLToPath(cwd), env ?? process.env);
  if (failure !== undefined) {
    throw Object.assign(new Error(`spawn ${command} ${failure}`), {
      code: failure,
      errno: failure === "ENOENT" ? -2 : -13,
      syscall: `spawn ${command}`,
      path: command,
    });
  }
  return [findSetpriv()!, ["--pdeathsig", signal, "--", command, ...args]];
}

/** `undefined` if `command` would be found and executable, else the errno name execvp would fail with. */
function lookUp(command: string, cwd: string, env: NodeJS.ProcessEnv): "ENOENT" | "EACCES" | undefined {
  if (command.includes("/")) return access(resolve(cwd, command));
  let denied = false;
  for (const dir of (env.PATH ?? "/bin:/usr/bin").split(delimiter)) {
    const result = access(resolve(cwd, dir === "" ? "." : dir, command));
    if (result === undefined) return undefined;
    if (result === "EACCES") denied = true;
  }
  return denied ? "EACCES" : "ENOENT";
}

function access(path: string): "ENOENT" | "EACCES" | undefined {
  try {
    if (!statSync(path).isFile()) return "EACCES";
  } catch {
    return "ENOENT";
  }
  return isExecutableFile(path) ? undefined : "EACCES";
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
