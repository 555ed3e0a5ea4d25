/**
 * Socket permissions and peer credentials (docs/guide.md#permissions-and-the-umask-window,
 * docs/guide.md#peer-credentials). The socket file is 0600 (only this user can even connect), the server
 * knows each client's pid/uid/gid from the kernel (SO_PEERCRED), and it admits only clients of its own user —
 * a client of another user is refused before any of its bytes is read. (The other-user part needs root to
 * switch users; without it, it is skipped and says so.)
 *
 *   pnpm example unix-secure
 */
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { connect, listen } from "@ipc/unix";

if (process.argv[2] === "as-nobody") {
  // Started as root, this process becomes "nobody" (65534) before connecting. @ipc/unix loads its native
  // module on first use: use it once now (a connect to a name nobody listens on), while this process may
  // still read the checkout it runs from.
  await connect(`unix-abstract:ipc-example-nobody-${process.pid}`, { timeout: 1000 }).catch(() => undefined);
  process.setgid!(65534);
  process.setuid!(65534);
  try {
    await connect(process.argv[3]!, { timeout: 2000 });
    console.log("[nobody] connected (unexpected)");
  } catch (error) {
    console.log(`[nobody] ${(error as { code: string }).code}: ${(error as Error).message}`);
  }
} else {
  const dir = mkdtempSync(join(tmpdir(), "ipc-example-"));
  const path = join(dir, "secure.sock");
  const listener = await listen(path, {
    sameUser: true,
    onReject: (peer, reason) => console.log(`[server] refused pid ${peer.pid} (uid ${peer.uid}): ${reason}`),
  });
  console.log(`[server] ${path} has mode ${(statSync(path).mode & 0o777).toString(8)}`);

  const client = await connect(path, { timeout: 2000 });
  const accepted = await listener.accept({ timeout: 2000 });
  console.log(`[server] accepted pid ${accepted?.peer?.pid}, uid ${accepted?.peer?.uid}, gid ${accepted?.peer?.gid}`);
  console.log(`[client] the server is pid ${client.peer?.pid}`);
  await client.close({ timeout: 2000 });

  if (process.getuid?.() === 0) {
    // Let "nobody" reach the socket, so that the refusal comes from the credentials check.
    chmodSync(dir, 0o755);
    chmodSync(path, 0o666);
    // Asynchronously: this process is the server, and must keep answering while the child connects.
    const { stdout } = await promisify(execFile)(process.execPath, [fileURLToPath(import.meta.url), "as-nobody", path]);
    console.log(stdout.trim());
  } else {
    console.log("(skipping the other-user client: switching users needs root)");
  }
  await listener.close();
  rmSync(dir, { recursive: true, force: true });
}
