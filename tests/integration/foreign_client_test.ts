/**
 * Wire compatibility with the reference: a gRPC client built only from the reference's own
 * .proto files (tests/fixtures/reference_proto, loaded at run time by @grpc/proto-loader,
 * called through @grpc/grpc-js) queries a real one-server cluster and gets what `dmg` reports,
 * and the reference's error (status + google.rpc.ErrorInfo) for a request naming another system.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { withForeignCluster } from "./foreign_client.ts";

interface RefMember {
  addr: string;
  uuid: string;
  rank: number;
  incarnation: string;
  state: string;
  fault_domain: string;
}

Deno.test({
  name: "foreign client (reference .proto + grpc-js): SystemQuery, LeaderQuery, wrong system",
  fn: (t) =>
    withForeignCluster(async (c, fc) => {
      await t.step("SystemQuery: members, ranks and states as dmg -j system query", async () => {
        const dmgMembers = await c.members();
        const r = await fc.call<{ members: RefMember[]; absentranks: string }>("SystemQuery", {
          sys: c.name,
        });
        const norm = (ms: { rank: number; uuid: string; addr: string; state: string }[]) =>
          ms.map((m) => ({ rank: m.rank, uuid: m.uuid, addr: m.addr, state: m.state }))
            .sort((a, b) => a.rank - b.rank);
        deepEqual(norm(r.members), norm(dmgMembers));
        deepEqual(r.members.map((m) => m.rank).sort(), [0, 1]);
        ok(r.members.every((m) => m.state === "joined"), JSON.stringify(r.members));
        // uint64 incarnation decoded by the reference's type, same value dmg prints. Read from
        // dmg's raw text: JSON.parse rounds integers above 2^53, and incarnations are that big.
        const raw = await c.dmg(["-j", "system", "query"]);
        const printed = [...raw.stdout.matchAll(/"rank":\s*(\d+),\s*"incarnation":\s*(\d+)/g)]
          .map((x) => `${x[1]}:${x[2]}`).sort();
        deepEqual(r.members.map((m) => `${m.rank}:${m.incarnation}`).sort(), printed);
        for (const m of r.members) {
          const d = dmgMembers.find((x) => x.rank === m.rank)!;
          equal(m.fault_domain, d.fault_domain ?? "");
        }
        equal(r.absentranks, "");

        // A rank filter the reference understands (rankset string).
        const one = await fc.call<{ members: RefMember[]; absentranks: string }>("SystemQuery", {
          sys: c.name,
          ranks: "1,7",
        });
        deepEqual(one.members.map((m) => m.rank), [1]);
        equal(one.absentranks, "7");
      });

      await t.step("LeaderQuery: leader and replicas as dmg -j system leader-query", async () => {
        const d = await c.dmgJson<{ current_leader: string; replicas: string[] }>([
          "system",
          "leader-query",
        ]);
        ok(d.response, `dmg leader-query: ${d.error}`);
        const r = await fc.call<{ current_leader: string; replicas: string[] }>("LeaderQuery", {
          sys: c.name,
        });
        equal(r.current_leader, d.response.current_leader);
        equal(r.current_leader, c.server(0).addr);
        deepEqual(r.replicas, d.response.replicas);
      });

      await t.step("a request for another system: Internal + fault 603 ErrorInfo", async () => {
        const e = await fc.fail("SystemQuery", { sys: "not-this-system" });
        equal(e.code, grpc.status.INTERNAL);
        match(e.message, /request system does not match running system/);
        match(e.message, /not-this-system/);
        equal(e.infos.length, 1, JSON.stringify(e.infos));
        const [info] = e.infos;
        equal(info.reason, "proto.fault.Fault");
        equal(info.domain, "server");
        equal(info.metadata.Domain, "server");
        equal(info.metadata.Code, "603");
        match(info.metadata.Description, /not-this-system != daos_server/);
        match(info.metadata.Resolution, /matches the server system name/);

        // The same for LeaderQuery.
        const l = await fc.fail("LeaderQuery", { sys: "not-this-system" });
        equal(l.code, grpc.status.INTERNAL);
        equal(l.infos[0]?.metadata.Code, "603");
      });
    }),
  sanitizeOps: false,
  sanitizeResources: false,
});
