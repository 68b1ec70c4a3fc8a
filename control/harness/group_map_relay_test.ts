import { deepEqual, equal, match, rejects, throws } from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  GroupUpdateReq_EngineSchema,
  GroupUpdateReqSchema,
  GroupUpdateRespSchema,
} from "../../proto/gen/ts/mgmt/srv_pb.ts";
import { MgmtMethod } from "../drpc/ids.ts";
import { MemberState } from "../lib/states.ts";
import { checkGroupMap, GroupMapRelay, type RelayEngine } from "./group_map_relay.ts";
import { Fault } from "../lib/fault.ts";

const log = { debug() {}, info() {}, error() {} };

/** An engine double recording the map versions it was sent; answers `status`. */
function engine(index: number, rank: number, ready: boolean, status = 0) {
  const got: number[] = [];
  const e: RelayEngine & { ready: boolean; got: number[] } = {
    index,
    ready,
    got,
    rank: () => rank,
    isReady: () => e.ready,
    localState: () => e.ready ? MemberState.Ready : MemberState.Stopped,
    callMgmt: (method, body) => {
      equal(method, MgmtMethod.GROUP_UPDATE);
      got.push(fromBinary(GroupUpdateReqSchema, body).mapVersion);
      return Promise.resolve(
        toBinary(GroupUpdateRespSchema, create(GroupUpdateRespSchema, { status })),
      );
    },
  };
  return e;
}

const map = (v: number) =>
  create(GroupUpdateReqSchema, {
    mapVersion: v,
    engines: [create(GroupUpdateReq_EngineSchema, { rank: 0, uri: "ofi+tcp://1.2.3.4:5" })],
  });

Deno.test("relay: the map goes to ready engines only; a late-ready engine gets the newest", async () => {
  const a = engine(0, 0, true);
  const b = engine(1, 1, false);
  const relay = new GroupMapRelay(() => [a, b], "127.0.0.1:10001", log);
  const res = await relay.deliver(map(3));
  deepEqual(res.map((r) => [r.rank, r.errored, r.state, r.addr]), [
    [0, false, "ready", "127.0.0.1:10001"],
  ]);
  await relay.deliver(map(2)); // older: forwarded (the engine ignores it) but not kept
  equal(relay.latestVersion(), 3);
  b.ready = true;
  await relay.onReady(b);
  deepEqual(a.got, [3, 2]);
  deepEqual(b.got, [3]);
});

Deno.test("relay: an engine's refusal is an errored result; an empty map is refused", async () => {
  const a = engine(0, 4, true, -1003);
  const relay = new GroupMapRelay(() => [a], "127.0.0.1:10001", log);
  const [r] = await relay.deliver(map(1));
  equal(r.errored, true);
  match(r.msg, /^rank 4: group update 1 refused: DER_INVAL/);
  await rejects(
    () => relay.deliver(create(GroupUpdateReqSchema, { mapVersion: 2 })),
    /empty group map \(all ranks excluded\?\)/,
  );
});

Deno.test("checkGroupMap: another system's map is fault 603; an entry an engine cannot use is named", () => {
  const entry = (rank: number, uri: string) =>
    create(GroupUpdateReq_EngineSchema, { rank, uri, incarnation: 1n });
  const m = (sys: string, ...engines: ReturnType<typeof entry>[]) =>
    create(GroupUpdateReqSchema, { sys, mapVersion: 4, engines });
  checkGroupMap(m("daos_server", entry(0, "ofi+tcp://1.2.3.4:5")), "daos_server");
  throws(
    () => checkGroupMap(m("other", entry(0, "ofi+tcp://1.2.3.4:5")), "daos_server"),
    (e: unknown) =>
      e instanceof Fault && e.code === 603 &&
      e.description === "request system does not match running system (other != daos_server)",
  );
  throws(
    () => checkGroupMap(m("", entry(0, "ofi+tcp://1.2.3.4:5")), "daos_server"),
    (e: unknown) => e instanceof Fault && e.code === 603,
  );
  const bad: [ReturnType<typeof entry>, string][] = [
    [entry(0xffffffff, "ofi+tcp://1.2.3.4:5"), "engines[1] (rank 4294967295"],
    [entry(2, `ofi+tcp://${"x".repeat(10000)}:5`), "longer than 127 characters"],
    [entry(2, "ofi+tcp://1.2.3.4"), "no port"],
    [entry(2, ""), "no provider scheme"],
    [entry(0, "ofi+tcp://1.2.3.4:6"), "rank 0 listed twice"],
  ];
  for (const [e, text] of bad) {
    throws(
      () => checkGroupMap(m("daos_server", entry(0, "ofi+tcp://1.2.3.4:5"), e), "daos_server"),
      (err: unknown) =>
        err instanceof Fault && err.description.includes(text) &&
        err.description.startsWith("group map 4 refused: ") && err.description.length < 400,
    );
  }
});
