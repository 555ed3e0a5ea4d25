/**
 * The shm:// transport: the same Connection as every other transport, with the messages travelling
 * through shared memory. A server process echoes; this process sends a few messages, one of them
 * 4 MiB (longer than a ring: it goes in chunks), and prints who it talks to.
 *
 *   pnpm example shm-transport
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { connect, listen } from "@ipc/shm";

const [role] = process.argv.slice(2);

if (role === "server") {
  await using listener = await listen(`shm://ipc-example-echo-${process.pid}`);
  console.log(listener.address);
  const connection = (await listener.accept({ timeout: 10_000 }))!;
  for await (const message of connection) await connection.send(message);
  await connection.close({ timeout: 5000 });
} else {
  const server = spawn(process.execPath, [process.argv[1]!, "server"], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const [address] = (await once(createInterface({ input: server.stdout! }), "line")) as [string];
    await using connection = await connect(address, { timeout: 5000 });
    console.log(`connected to ${address}, server pid ${connection.peer?.pid === server.pid ? "matches" : "differs"}`);
    for (const text of ["hello", "through", "shared memory"]) {
      await connection.send(new TextEncoder().encode(text));
      console.log(`echo: ${new TextDecoder().decode(await connection.receive({ timeout: 5000 }))}`);
    }
    const big = new Uint8Array(4 * 1024 * 1024).map((_, i) => i % 251);
    await connection.send(big);
    const back = (await connection.receive({ timeout: 10_000 }))!;
    console.log(`4 MiB echo intact: ${back.byteLength === big.byteLength && back.every((b, i) => b === i % 251)}`);
    await connection.close({ timeout: 5000 });
    await once(server, "exit");
  } finally {
    server.kill();
  }
}
