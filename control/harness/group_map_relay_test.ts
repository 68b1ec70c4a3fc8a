import { deepEqual, equal, match, rejects } from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  GroupUpdateReq_EngineSchema,
  GroupUpdateReqSchema,
  GroupUpdateRespSchema,
} from "../../proto/gen/ts/mgmt/srv_pb.ts";
import { MgmtMethod } from "../drpc/ids.ts";
import { MemberState } from "../lib/states.ts";
import { GroupMapRelay, type RelayEngine } from "./group_map_relay.ts";

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
