import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { Fault } from "../lib/fault.ts";
import { claimSocketDir } from "./instance_lock.ts";
import { createLogger, parseLogLevel } from "./logging.ts";

Deno.test("claimSocketDir: refuses a live claim, takes over a stale socket, names a missing dir", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sockdir-" });
  try {
    const first = await claimSocketDir(dir);
    await rejects(claimSocketDir(dir), (e: Error) => e instanceof Fault && e.code === 6);
    first.release();
    deepEqual([...Deno.readDirSync(dir)], []);

    // A socket file nobody listens on (server killed with SIGKILL) is taken over: a child
    // binds it and is SIGKILLed, so the file stays a real, unbound socket.
    const lock = `${dir}/daos_server.lock`;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `Deno.listen({ transport: "unix", path: ${JSON.stringify(lock)} }); ` +
        "await new Promise((r) => setTimeout(r, 60_000));",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      for (
        let i = 0;
        i < 200 && !(await Deno.lstat(lock).then((s) => s.isSocket, () => false));
        i++
      ) {
        await new Promise((r) => setTimeout(r, 25));
      }
    } finally {
      child.kill("SIGKILL");
      await child.status;
    }
    ok((await Deno.lstat(lock)).isSocket, "the stale lock is a socket file");
    const second = await claimSocketDir(dir);
    second.release();

    await rejects(
      claimSocketDir(`${dir}/missing`),
      /missing socket directory .*missing: create it/,
    );
    // Not "missing": a regular file where a parent directory should be.
    await Deno.writeTextFile(`${dir}/file`, "");
    await rejects(
      claimSocketDir(`${dir}/file/sub`),
      /cannot access socket directory .*file\/sub: .*: fix its permissions or set socket_dir/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("control log: mask filtering, JSON lines, bad mask named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const log = createLogger({ mask: "notice", file: `${dir}/ctl.log`, json: true });
    log.info("hidden");
    log.error("shown");
    log.close();
    const lines = (await Deno.readTextFile(`${dir}/ctl.log`)).trim().split("\n");
    equal(lines.length, 1);
    const rec = JSON.parse(lines[0]);
    deepEqual([rec.level, rec.msg], ["error", "shown"]);
    equal(parseLogLevel("Debug"), "DEBUG");
    let msg = "";
    try {
      parseLogLevel("LOUD");
    } catch (e) {
      msg = String(e);
    }
    ok(msg.includes('"LOUD" is not a valid log level'), msg);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
