/**
 * No server needed: messages encoded by the foreign client (the reference's .proto files via
 * @grpc/proto-loader) decode with our generated schemas to the same values, and our encodings
 * decode in the foreign client, for the pool messages the pending pool test uses. A field
 * number or type that drifted between the reference and proto/ fails here.
 */
import { deepEqual, equal } from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  ListPoolsRespSchema,
  PoolCreateReqSchema,
  PoolCreateRespSchema,
  PoolQueryRespSchema,
  StorageMediaType,
} from "../../proto/gen/ts/mgmt/pool_pb.ts";
import { loadReferenceMgmt } from "./foreign_client.ts";

const def = loadReferenceMgmt();

function method(name: string): grpc.MethodDefinition<object, Record<string, unknown>> {
  const svc = def["mgmt.MgmtSvc"] as grpc.ServiceDefinition;
  return svc[name] as grpc.MethodDefinition<object, Record<string, unknown>>;
}

Deno.test("foreign PoolCreateReq (reference field names) decodes with our schema", () => {
  const bytes = method("PoolCreate").requestSerialize({
    uuid: "8f3c7d4e-1111-4222-8333-944455556666",
    sys: "daos_server",
    user: "alice@",
    usergroup: "lab@",
    properties: [{ number: 1, strval: "tank" }, { number: 5, numval: "7" }],
    numsvcreps: 3,
    totalbytes: String(2 ** 40 + 1),
    tierratio: [0.06, 0.94],
    numranks: 2,
    ranks: [0, 1],
    tierbytes: ["100", "200"],
  });
  const ours = fromBinary(PoolCreateReqSchema, bytes);
  equal(ours.uuid, "8f3c7d4e-1111-4222-8333-944455556666");
  equal(ours.sys, "daos_server");
  equal(ours.user, "alice@");
  equal(ours.userGroup, "lab@");
  equal(ours.numSvcReps, 3);
  equal(ours.totalBytes, 2n ** 40n + 1n);
  deepEqual(ours.tierRatio, [0.06, 0.94]);
  equal(ours.numRanks, 2);
  deepEqual(ours.ranks, [0, 1]);
  deepEqual(ours.tierBytes, [100n, 200n]);
  deepEqual(
    ours.properties.map((p) => [p.number, p.value.case, p.value.value]),
    [[1, "strval", "tank"], [5, "numval", 7n]],
  );
});

Deno.test("our PoolCreateResp, PoolQueryResp, ListPoolsResp decode in the foreign client", () => {
  const cr = method("PoolCreate").responseDeserialize(Buffer.from(toBinary(
    PoolCreateRespSchema,
    create(PoolCreateRespSchema, {
      svcLdr: 1,
      svcReps: [1, 0],
      tgtRanks: [0, 1],
      tierBytes: [32n << 20n, 480n << 20n],
    }),
  )));
  equal(cr.leader, 1);
  deepEqual(cr.svc_reps, [1, 0]);
  deepEqual(cr.tgt_ranks, [0, 1]);
  deepEqual(cr.tier_bytes, [String(32 << 20), String(480 << 20)]);

  const q = method("PoolQuery").responseDeserialize(Buffer.from(toBinary(
    PoolQueryRespSchema,
    create(PoolQueryRespSchema, {
      uuid: "u",
      label: "tank",
      totalTargets: 2,
      activeTargets: 2,
      tierStats: [
        { total: 10n, free: 9n, min: 4n, max: 5n, mean: 4n, mediaType: StorageMediaType.SCM },
        { total: 20n, free: 18n, min: 9n, max: 9n, mean: 9n, mediaType: StorageMediaType.NVME },
      ],
      version: 3,
    }),
  )));
  equal(q.label, "tank");
  equal(q.total_targets, 2);
  equal(q.version, 3);
  deepEqual(
    (q.tier_stats as { total: string; free: string; media_type: string }[]).map((
      s,
    ) => [s.total, s.free, s.media_type]),
    [["10", "9", "SCM"], ["20", "18", "NVME"]],
  );

  const l = method("ListPools").responseDeserialize(Buffer.from(toBinary(
    ListPoolsRespSchema,
    create(ListPoolsRespSchema, {
      pools: [{ uuid: "u", label: "tank", svcReps: [0], state: "Ready" }],
    }),
  )));
  deepEqual(
    (l.pools as { uuid: string; label: string; svc_reps: number[]; state: string }[]).map((p) => [
      p.uuid,
      p.label,
      p.svc_reps,
      p.state,
    ]),
    [["u", "tank", [0], "Ready"]],
  );
});
