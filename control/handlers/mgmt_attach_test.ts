/** GetAttachInfo over a fake MS: joined ranks' URIs, MS ranks, hint, version, system check. */
import { deepEqual, equal, rejects } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { GetAttachInfoReqSchema } from "../../proto/gen/ts/mgmt/attach_pb.ts";
import type { Member } from "../mgmt/member.ts";
import { DAOS_VERSION } from "../lib/rpc/version.ts";
import { type AttachMs, buildInfo, mgmtAttachHandlers } from "./mgmt_attach.ts";

function member(rank: number, addr: string, state: string, uri: string): Member {
  return {
    rank,
    uuid: "",
    addr,
    state: state as Member["state"],
    fault_domain: "/",
    incarnation: "1",
    fabric_uri: uri,
    secondary_fabric_uris: [],
    fabric_contexts: 2,
    secondary_fabric_contexts: [],
    info: "",
    last_update: "",
  };
}

const ms: AttachMs = {
  checkSystem: (sys: string) => {
    if (!sys.startsWith("daos_server")) throw new Error(`request system does not match (${sys})`);
  },
  query: () =>
    Promise.resolve({
      members: [
        member(0, "10.0.0.1:10001", "joined", "tcp://a:1"),
        member(1, "10.0.0.2:10001", "joined", "tcp://b:1"),
        member(2, "10.0.0.2:10001", "stopped", "tcp://b:2"),
      ],
      absentRanks: "",
      absentHosts: "",
      dataVersion: 42n,
      providers: ["ofi+tcp"],
      selfHeal: "",
    }),
  leaderQuery: () =>
    Promise.resolve({ leader: "10.0.0.1:10001", replicas: ["10.0.0.1:10001"], down: [] }),
} as unknown as AttachMs;

Deno.test("GetAttachInfo: joined ranks, MS ranks, hint, data version and build version", async () => {
  const h = mgmtAttachHandlers({ ms });
  let r = await h.getAttachInfo(
    create(GetAttachInfoReqSchema, { sys: "daos_server-2.9.100", allRanks: true }),
  );
  deepEqual(r.rankUris.map((u) => [u.rank, u.uri, u.numCtxs]), [[0, "tcp://a:1", 2], [
    1,
    "tcp://b:1",
    2,
  ]]);
  deepEqual(r.msRanks, [0]);
  equal(r.clientNetHint?.provider, "ofi+tcp");
  equal(r.dataVersion, 42n);
  equal(r.sys, "daos_server");
  deepEqual(r.buildInfo && [r.buildInfo.major, r.buildInfo.minor, r.buildInfo.patch], [
    buildInfo().major,
    buildInfo().minor,
    buildInfo().patch,
  ]);
  equal(`${r.buildInfo?.major}.${r.buildInfo?.minor}.${r.buildInfo?.patch}`, DAOS_VERSION);
  // Without all_ranks only the MS replicas' ranks.
  r = await h.getAttachInfo(create(GetAttachInfoReqSchema, { sys: "daos_server" }));
  deepEqual(r.rankUris.map((u) => u.rank), [0]);
  await rejects(
    h.getAttachInfo(create(GetAttachInfoReqSchema, { sys: "other" })),
    /does not match/,
  );
});
