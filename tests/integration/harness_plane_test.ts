/**
 * daos_server's engine plane from a real daos_server.yml: config → harness with derived engine
 * arguments → real engines → CtlSvc *Ranks handlers (stop, start, reset format).
 */
import { deepEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { createHandlerContext } from "@connectrpc/connect";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import { RanksReqSchema } from "../../proto/gen/ts/ctl/ranks_pb.ts";
import { type JoinReq, JoinRespSchema } from "../../proto/gen/ts/mgmt/svc_pb.ts";
import { loadServerConfig } from "../../control/config/load.ts";
import { ctlRanksHandlers } from "../../control/handlers/ctl_ranks.ts";
import { startEnginePlane } from "../../control/harness/engine_plane.ts";
import { dirSuperblockStore } from "../../control/harness/storage_adapter.ts";
import { superblockPresenceStorage } from "../../control/harness/superblock_storage.ts";
import { hasFaultCode } from "../../control/lib/fault.ts";
import {
  newSuperblock,
  readSuperblock,
  writeSuperblock,
} from "../../control/storage/superblock.ts";

const WAIT = 30_000;
const native = new URL("../../engine-ffi/native", import.meta.url).pathname;

/** A loopback TCP port free right now (the engine binds it with SO_REUSEADDR). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function ctx(timeoutMs?: number) {
  return createHandlerContext({
    service: CtlSvc,
    method: CtlSvc.method.stopRanks,
    protocolName: "connect",
    requestMethod: "POST",
    url: "http://127.0.0.1/ctl.CtlSvc/StopRanks",
    timeoutMs,
  });
}

Deno.test("engine plane from daos_server.yml: engines ready, CtlSvc rank calls", async () => {
  if (!(await Deno.stat(`${native}/build/modules/libmgmt.so`).then(() => true, () => false))) {
    const out = await new Deno.Command("make", { args: ["-s", "-C", native] }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
  }
  const dir = await Deno.makeTempDir({ prefix: "harness-plane-" });
  const logs: string[] = [];
  const log = {
    debug: (m: string) => logs.push(`DEBUG ${m}`),
    info: (m: string) => logs.push(`INFO ${m}`),
    error: (m: string) => logs.push(`ERROR ${m}`),
  };
  let plane: Awaited<ReturnType<typeof startEnginePlane>> | undefined;
  try {
    await Deno.mkdir(`${dir}/run`);
    for (const i of [0, 1]) {
      await Deno.mkdir(`${dir}/scm${i}`);
      await writeSuperblock(`${dir}/scm${i}`, newSuperblock("daos_server", "/host1"));
    }
    // A stale engine socket from an earlier server is removed at start.
    await Deno.writeTextFile(`${dir}/run/daos_engine_1.sock`, "");
    const ports = [freePort(), freePort()];
    const engine = (i: number) => `
  - targets: 1
    nr_xs_helpers: 0
    fabric_iface: lo
    fabric_iface_port: ${ports[i]}
    log_mask: INFO
    storage:
      - class: ram
        scm_mount: ${dir}/scm${i}`;
    await Deno.writeTextFile(
      `${dir}/daos_server.yml`,
      `name: daos_server
port: 10001
provider: ofi+tcp
socket_dir: ${dir}/run
transport_config:
  allow_insecure: true
engines:${engine(0)}${engine(1)}
`,
    );
    const cfg = await loadServerConfig(`${dir}/daos_server.yml`);
    let next = 1;
    const ranks = new Map<string, number>();
    plane = await startEnginePlane(cfg, {
      join: (req: JoinReq) => {
        const rank = ranks.get(req.uuid) ?? (req.rank === 0 ? 0 : next++);
        ranks.set(req.uuid, rank);
        return Promise.resolve(create(JoinRespSchema, { rank, mapVersion: 1 }));
      },
      notifyEvent: () => {},
      log,
      hostname: "host1",
      controlAddr: "127.0.0.1:10001",
      faultDomain: "/host1",
      bootstrapReplica: true,
      storageFor: (e) => superblockPresenceStorage(dirSuperblockStore(e.scm!.scmMount), 20),
    });
    assert(logs.includes(`DEBUG removed stale engine socket ${dir}/run/daos_engine_1.sock`));
    const h = plane.harness;
    for (const i of h.instances) assert(await i.waitFor((x) => x.isReady(), WAIT), logs.join("\n"));
    assertEquals(h.instances.map((i) => i.rank()), [0, 1]);

    const handlers = ctlRanksHandlers({ harness: () => h, config: { name: "daos_server" } });
    const req = (ranks: string, force = false) => create(RanksReqSchema, { ranks, force });
    await rejects(() => handlers.stopRanks(req(""), ctx()), /no ranks specified in request/);
    await rejects(() => handlers.stopRanks(req("0-x"), ctx()), /creating numeric set from/);
    await rejects(
      () => handlers.resetFormatRanks(req("1"), ctx()),
      (e) => hasFaultCode(e, 612),
    );
    // Ranks absent on this host (7-9) are simply not local: no result for them.
    const stop = await handlers.stopRanks(req("0-1,7-9", true), ctx(10_000));
    assertEquals(stop.results.map((r) => [r.rank, r.state, r.msg]), [
      [0, "stopped", "system stop"],
      [1, "stopped", "system stop"],
    ]);
    assertEquals(h.report().map((r) => r.lastExitStatus), ["signal: killed", "signal: killed"]);
    const start = await handlers.startRanks(req("1"), ctx(WAIT));
    assertEquals(start.results.map((r) => [r.rank, r.state, r.msg]), [[
      1,
      "ready",
      "system start",
    ]]);
    const reset = await handlers.resetFormatRanks(req("0"), ctx(WAIT));
    assertEquals(reset.results.map((r) => [r.rank, r.state]), [[0, "awaitformat"]]);
    assertEquals(await readSuperblock(`${dir}/scm0`), null);
  } finally {
    await plane?.close();
    await Deno.remove(dir, { recursive: true });
  }
});
