import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { Fault } from "../lib/fault.ts";
import { decodeRemoteError, NotReplicaError } from "../lib/rpc/error_codec.ts";
import { claimSocketDir } from "./instance_lock.ts";
import { createLogger, parseLogLevel } from "./logging.ts";
import { nonReplicaMgmtService } from "./mgmt_nonreplica.ts";
import { systemOfRequest } from "../lib/system_name.ts";

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

Deno.test("non-replica MgmtSvc: system name check, then not-replica for every call", async () => {
  const transport = createRouterTransport((r) =>
    r.service(MgmtSvc, nonReplicaMgmtService("daos_server", ["h1:10001", "h2:10001"]))
  );
  const client = createClient(MgmtSvc, transport);
  const err = await client.leaderQuery({ sys: "daos_server-2.9.100" }).then(
    () => undefined,
    (e) => decodeRemoteError(e),
  );
  ok(err instanceof NotReplicaError);
  deepEqual(err.replicas, ["h1:10001", "h2:10001"]);
  equal(err.message, "not a DAOS Management Service replica (try one of h1:10001,h2:10001)");
  const wrong = await client.systemQuery({ sys: "other" }).then(() => undefined, decodeRemoteError);
  ok(wrong instanceof Fault);
  equal(wrong.code, 603);
  equal(wrong.description, "request system does not match running system (other != daos_server)");
  equal(systemOfRequest("daos_server-2.9.100"), "daos_server");
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
