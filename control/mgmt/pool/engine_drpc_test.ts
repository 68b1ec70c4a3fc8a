/**
 * DrpcPoolEngine: method numbers and bodies as the contract, replies decoded, and no ready
 * engine → DataPlaneNotStarted (611).
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  PoolMapSetReqSchema,
  PoolShardsRespSchema,
} from "../../../proto/gen/ts/mgmt/pool_engine_pb.ts";
import {
  PoolCreateReqSchema,
  PoolDestroyReqSchema,
  PoolDestroyRespSchema,
} from "../../../proto/gen/ts/mgmt/pool_pb.ts";
import { DaosRespSchema } from "../../../proto/gen/ts/mgmt/srv_pb.ts";
import { Fault } from "../../lib/fault.ts";
import { DrpcPoolEngine, type LocalEngine } from "./engine_drpc.ts";
import { TargetState } from "./record.ts";

function engine(ready: boolean, reply: (m: number, body: Uint8Array) => Uint8Array) {
  const calls: { method: number; body: Uint8Array }[] = [];
  const e: LocalEngine = {
    isReady: () => ready,
    callMgmt: (method, body) => {
      calls.push({ method, body });
      return Promise.resolve(reply(method, body));
    },
  };
  return { e, calls };
}

Deno.test("create is 207 with the per-rank tier bytes; the shards reply is decoded", async () => {
  const { e, calls } = engine(true, () =>
    toBinary(
      PoolShardsRespSchema,
      create(PoolShardsRespSchema, {
        status: -1007,
        error: "SCM",
        largest: [5n, 6n],
        ranks: [1],
        ntargets: [4],
      }),
    ));
  const r = await new DrpcPoolEngine(() => [e]).create("u1", [1, 2], [10, 20], 3);
  equal(calls[0].method, 207);
  const req = fromBinary(PoolCreateReqSchema, calls[0].body);
  deepEqual([req.uuid, req.ranks, req.tierBytes, req.numSvcReps], ["u1", [1, 2], [10n, 20n], 3]);
  deepEqual([r.status, r.error, r.largest, r.ntargets], [-1007, "SCM", [5, 6], [4]]);
});

Deno.test("destroy is 208 and map set 253 with per-rank target states", async () => {
  const { e, calls } = engine(
    true,
    (m) =>
      m === 208
        ? toBinary(PoolDestroyRespSchema, create(PoolDestroyRespSchema, { status: 0 }))
        : toBinary(DaosRespSchema, create(DaosRespSchema, { status: -1005 })),
  );
  const d = new DrpcPoolEngine(() => [e]);
  equal(await d.destroy("u1", [0, 2]), 0);
  deepEqual(fromBinary(PoolDestroyReqSchema, calls[0].body).svcRanks, [0, 2]);
  equal(
    await d.mapSet("u1", 3, [0], [{ rank: 0, targets: [TargetState.UP_IN, TargetState.DOWN] }]),
    -1005,
  );
  equal(calls[1].method, 253);
  const m = fromBinary(PoolMapSetReqSchema, calls[1].body);
  deepEqual([m.uuid, m.version, m.ranks[0].rank, m.ranks[0].targetStates], ["u1", 3, 0, [4, 2]]);
});

Deno.test("no ready local engine: DataPlaneNotStarted (611), nothing called", async () => {
  const { e, calls } = engine(false, () => new Uint8Array());
  await rejects(new DrpcPoolEngine(() => [e]).destroy("u1", []), (err) => {
    ok(err instanceof Fault);
    equal(err.code, 611);
    return true;
  });
  equal(calls.length, 0);
});
