/**
 * Security (docs/guide.md#validation-and-access-control):
 * - input validation (docs/guide.md#input-validation) — a size limit checked before anything is allocated:
 *   an oversized frame ends that connection with FrameTooLargeError, and the server goes on serving everyone
 *   else;
 * - permission control (docs/guide.md#access-control) — the listener checks the peer's credentials
 *   (SO_PEERCRED) before reading a byte, and the socket file is created 0600.
 *
 *   pnpm example kit-security
 */
import { statSync } from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, listen } from "@ipc/kit";

const dir = mkdtempSync(join(tmpdir(), "kit-security-"));
try {
  const path = join(dir, "app.sock");
  await using listener = await listen(`unix://${path}`, {
    maxMessageSize: 1024, // input validation: the largest message this server accepts
    authorize: (peer) => peer.uid === process.getuid!(), // access control: only this user's processes
  });
  console.log(`socket file mode: ${(statSync(path).mode & 0o777).toString(8)}`);
  void (async () => {
    for await (const connection of listener) {
      console.log(`server: accepted pid ${connection.peer?.pid} uid ${connection.peer?.uid}`);
      void (async () => {
        for await (const message of connection) await connection.send(message);
      })().catch((error: { code: string; message: string }) => console.log(`server: that connection ended with ${error.code}: ${error.message}`));
    }
  })();

  // A hostile client claims a 4 GiB message with a hand-made length prefix.
  const client = await connect(`unix://${path}`, { maxMessageSize: 1024 });
  const raw = net.connect(path);
  await new Promise((resolve) => raw.once("connect", resolve));
  raw.resume(); // read (and drop) what the server says, so that its close is seen
  // A length of 2 GiB − 1 (FF FF FF FF would announce an end reason instead: docs/wire.md §2.4).
  raw.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]));
  await new Promise((resolve) => raw.once("close", resolve));
  console.log("hostile client: disconnected by the server");

  // Everyone else is unaffected.
  await client.send(new TextEncoder().encode("still served"));
  console.log(`client: ${new TextDecoder().decode(await client.receive({ timeout: 2000 }))}`);
  try {
    await client.send(new Uint8Array(4096));
  } catch (error) {
    console.log(`client: sending 4096 bytes over a 1024-byte limit → ${(error as { code: string }).code}`);
  }
  await client.close({ timeout: 2000 });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
