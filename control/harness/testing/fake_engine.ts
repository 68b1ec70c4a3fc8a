/**
 * A stand-in daos_engine for harness tests: serves the mgmt dRPC methods the harness calls,
 * sends NotifyReady, logs to stdout/stderr, exits 0 on SIGTERM. Flags: -d socket dir,
 * -I instance index (others ignored). Env FAKE_SETUP_STATUS makes SetUp answer that status;
 * FAKE_NOTIFY_TWICE=1 sends NotifyReady twice at once (a retried up-call);
 * FAKE_SELF_TERMINATE_ONCE=<marker path>: unless the marker exists, create it, raise
 * engine_self_terminated after SetUp and exit 1 (as an engine excluded from the group map).
 * FAKE_FAIL_START_IF=<path>: while it exists, print "daos_engine: <its text>" on stderr and
 * exit 1 at start.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DaosRespSchema, SetRankReqSchema } from "../../../proto/gen/ts/mgmt/srv_pb.ts";
import { NotifyReadyReqSchema } from "../../../proto/gen/ts/srv/srv_pb.ts";
import { ClusterEventReqSchema, RASEventSchema } from "../../../proto/gen/ts/shared/event_pb.ts";
import { Status } from "../../../proto/gen/ts/drpc/drpc_pb.ts";
import { callDrpc } from "../../drpc/client.ts";
import { DrpcModule, MgmtMethod, SrvMethod } from "../../drpc/ids.ts";
import { DrpcServer } from "../../drpc/server.ts";

function flag(name: string): string {
  const i = Deno.args.indexOf(name);
  if (i < 0 || i + 1 >= Deno.args.length) {
    console.error(`fake engine: missing ${name}`);
    Deno.exit(2);
  }
  return Deno.args[i + 1];
}

const socketDir = flag("-d");
const idx = Number(flag("-I"));
// FAKE_FAIL_START_IF=<path>: while that file exists, fail at start as a broken engine does.
const failIf = Deno.env.get("FAKE_FAIL_START_IF");
if (failIf !== undefined && (await Deno.stat(failIf).then(() => true, () => false))) {
  console.error(`daos_engine: ${await Deno.readTextFile(failIf)}`);
  Deno.exit(1);
}
const setupStatus = Number(Deno.env.get("FAKE_SETUP_STATUS") ?? "0");
const ok = (status = 0) => toBinary(DaosRespSchema, create(DaosRespSchema, { status }));
let rank = -1;

const server = new DrpcServer({ socketPath: `${socketDir}/daos_engine_${Deno.pid}.sock` });
server.registerModule(DrpcModule.MGMT, {
  [MgmtMethod.SET_RANK]: (body) => {
    rank = fromBinary(SetRankReqSchema, body).rank;
    return ok();
  },
  [MgmtMethod.SET_UP]: () => {
    console.log(`fake engine ${idx}: set up as rank ${rank}`);
    const marker = Deno.env.get("FAKE_SELF_TERMINATE_ONCE");
    if (marker !== undefined) {
      try {
        Deno.writeTextFileSync(marker, "", { createNew: true });
        setTimeout(selfTerminate, 0);
      } catch { /* marker exists: already did it once */ }
    }
    return ok(setupStatus);
  },
  [MgmtMethod.PREP_SHUTDOWN]: () => ok(),
  [MgmtMethod.PING_RANK]: () => ok(),
});
await server.start();
Deno.addSignalListener("SIGTERM", async () => {
  await server.close();
  Deno.exit(0);
});
console.error(`fake engine ${idx}: listening`);

const notify = toBinary(
  NotifyReadyReqSchema,
  create(NotifyReadyReqSchema, {
    uri: `ofi+tcp://127.0.0.1:${20000 + Deno.pid % 10000}`,
    nctxs: 2,
    drpcListenerSock: server.socketPath,
    instanceIdx: idx,
    ntgts: 1,
    // Grows with time, like the engine's HLC-based incarnation.
    incarnation: BigInt(Date.now()),
  }),
);
const sendNotify = () =>
  callDrpc(`${socketDir}/daos_server.sock`, DrpcModule.SRV, SrvMethod.NOTIFY_READY, notify, {
    timeoutMs: 5000,
  });
const [resp] = await Promise.all(
  Deno.env.get("FAKE_NOTIFY_TWICE") === "1" ? [sendNotify(), sendNotify()] : [sendNotify()],
);
if (resp.status !== Status.SUCCESS) {
  console.error(`fake engine ${idx}: NotifyReady refused: ${Status[resp.status]}`);
  Deno.exit(1);
}

async function selfTerminate(): Promise<void> {
  const ev = create(RASEventSchema, { id: 5, msg: "excluded from group map", rank, type: 2 });
  await callDrpc(
    `${socketDir}/daos_server.sock`,
    DrpcModule.SRV,
    SrvMethod.CLUSTER_EVENT,
    toBinary(ClusterEventReqSchema, create(ClusterEventReqSchema, { sequence: 1n, event: ev })),
    { timeoutMs: 5000 },
  );
  await server.close();
  Deno.exit(1);
}
