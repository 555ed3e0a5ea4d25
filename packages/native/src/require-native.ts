/**
 * Loading a CommonJS package with a native part (koffi) from this package, immune to a Node bug.
 *
 * Node's module loader resolves symlinks with a JavaScript `fs.realpathSync` that, for a path component
 * already in its cache, reads the process-wide buffer of the last synchronous (non-bigint) stat instead of
 * stat-ing again — and stops resolving if that buffer describes a FIFO or a socket
 * (https://github.com/nodejs/node/issues/51142, seen on Node 20.20). So after any `fstatSync` of a pipe or
 * `lstatSync` of a socket file, `require("koffi")` under pnpm's symlinked layout can come back with the
 * symlink path as koffi's `__dirname`, and koffi, which finds its binary at `__dirname/../../../@koromix/…`,
 * fails with "Cannot find module". Resolving the file with the C `realpath` first avoids the bug entirely,
 * and still yields one module instance per real file.
 */
import { realpathSync } from "node:fs";
import { createRequire } from "node:module";

/**
 * `require(specifier)` as seen from the module at `from` (its `import.meta.url`), with the resolved file's
 * symlinks resolved by the OS. For the packages' lazy loading of koffi; not needed by applications.
 */
export function requireNative<T>(specifier: string, from: string): T {
  const require = createRequire(from);
  return require(realpathSync.native(require.resolve(specifier))) as T;
}
