/**
 * Pools through a client built only from the reference's own .proto files
 * (tests/fixtures/reference_proto, @grpc/proto-loader + @grpc/grpc-js): create (label property,
 * automatic total_bytes + tier_ratio), duplicate label refused, list, query (by label and uuid),
 * get-prop, query-target, destroy (then list is empty and the pool is not found).
 *
 * Field names are the fixture's (the reference version it was taken from spells PoolCreateReq's
 * fields totalbytes/tierratio/numsvcreps; numbers are those of the newer snake_case spelling).
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { withForeignCluster } from "./foreign_client.ts";

/** DAOS_PROP_PO_LABEL (daos_prop.h). */
const PROP_LABEL = 1;
const GiB = 1024 ** 3;

interface CreateResp {
  status: number;
  leader: number;
  svc_reps: number[];
  tgt_ranks: number[];
  tier_bytes: string[];
}
interface TierStats {
  total: string;
  free: string;
  min: string;
  max: string;
  mean: string;
  media_type: string;
}
interface QueryResp {
  status: number;
  uuid: string;
  label: string;
  total_targets: number;
  active_targets: number;
  disabled_targets: number;
  tier_stats: TierStats[];
  version: number;
  leader: number;
}
interface ListResp {
  status: number;
  pools: { uuid: string; label: string; svc_reps: number[]; state: string }[];
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

Deno.test({
  name: "foreign client (reference .proto + grpc-js): pool create, list, query, destroy",
  fn: (t) =>
    withForeignCluster(async (c, fc) => {
      const sys = c.name;
      const uuid = crypto.randomUUID();
      const user = `${Deno.env.get("USER") ?? "root"}@`;
      const totalBytes = 1 * GiB;
      const ratio = [0.06, 0.94];
      let created: CreateResp | null = null;

      await t.step(
        "PoolCreate: label property, total_bytes + tier_ratio over all ranks",
        async () => {
          created = await fc.call<CreateResp>("PoolCreate", {
            uuid,
            sys,
            user,
            usergroup: user,
            properties: [{ number: PROP_LABEL, strval: "tank" }],
            totalbytes: String(totalBytes),
            tierratio: ratio,
          }, 120_000);
          equal(created.status, 0);
          deepEqual([...created.tgt_ranks].sort(), [0, 1]);
          ok(created.svc_reps.length >= 1, JSON.stringify(created));
          ok(created.svc_reps.includes(created.leader), JSON.stringify(created));
          equal(created.tier_bytes.length, 2);
          const [scm, nvme] = created.tier_bytes.map(Number);
          ok(scm > 0 && nvme > 0, JSON.stringify(created.tier_bytes));
          // Per-rank bytes × ranks is the requested total, split by the ratio (rounding aside).
          const sum = (scm + nvme) * created.tgt_ranks.length;
          ok(Math.abs(sum - totalBytes) <= totalBytes * 0.01, `${sum} vs ${totalBytes}`);
          ok(Math.abs(scm / (scm + nvme) - ratio[0]) < 0.01, JSON.stringify(created.tier_bytes));
          // Real shards: the pmemobj file of each engine's target.
          for (const e of [0, 1]) {
            ok(await exists(`${c.server(0).dir}/scm${e}/${uuid}/vos-0`), `engine ${e} shard`);
          }
        },
      );

      await t.step(
        "a second pool with the same label: fault PoolDuplicateLabel (609)",
        async () => {
          const e = await fc.fail("PoolCreate", {
            uuid: crypto.randomUUID(),
            sys,
            user,
            usergroup: user,
            properties: [{ number: PROP_LABEL, strval: "tank" }],
            totalbytes: String(totalBytes),
            tierratio: ratio,
          });
          equal(e.code, grpc.status.INTERNAL);
          equal(e.infos[0]?.reason, "proto.fault.Fault");
          equal(e.infos[0]?.metadata.Code, "609");
          match(e.message, /tank/);
        },
      );

      await t.step("ListPools: the pool, its label, service ranks, Ready", async () => {
        const r = await fc.call<ListResp>("ListPools", { sys });
        equal(r.status, 0);
        equal(r.pools.length, 1, JSON.stringify(r.pools));
        const [p] = r.pools;
        equal(p.uuid, uuid);
        equal(p.label, "tank");
        deepEqual(p.svc_reps, created!.svc_reps);
        equal(p.state, "Ready");
      });

      await t.step("PoolQuery by label and by uuid: targets and non-zero tier stats", async () => {
        const byLabel = await fc.call<QueryResp>("PoolQuery", { sys, id: "tank" });
        const byUuid = await fc.call<QueryResp>("PoolQuery", { sys, id: uuid });
        for (const q of [byLabel, byUuid]) {
          equal(q.status, 0);
          equal(q.uuid, uuid);
          equal(q.label, "tank");
          equal(q.total_targets, 2);
          equal(q.active_targets, 2);
          equal(q.disabled_targets, 0);
          ok(q.version >= 1);
          equal(q.leader, created!.leader);
          deepEqual(q.tier_stats.map((s) => s.media_type), ["SCM", "NVME"]);
          q.tier_stats.forEach((s, i) => {
            // Each target's NVMe extent keeps one 4 KiB header block (DAOS_AIO_BDEV layout).
            const hdr = i === 1 ? 4096 * q.total_targets : 0;
            const want = Number(created!.tier_bytes[i]) * created!.tgt_ranks.length - hdr;
            equal(Number(s.total), want, `tier ${i} total matches the create reply`);
            const free = Number(s.free);
            ok(free > 0 && free <= want, `tier ${i} free ${free} of ${want}`);
            ok(Number(s.min) > 0 && Number(s.min) <= Number(s.mean), JSON.stringify(s));
            ok(Number(s.mean) <= Number(s.max), JSON.stringify(s));
            ok(Number(s.max) <= want, JSON.stringify(s));
          });
        }
      });

      await t.step("PoolGetProp label; PoolQueryTarget rank 1 target 0 is UP_IN", async () => {
        const p = await fc.call<
          { status: number; properties: { number: number; strval?: string }[] }
        >(
          "PoolGetProp",
          { sys, id: uuid, properties: [{ number: PROP_LABEL }] },
        );
        equal(p.status, 0);
        equal(p.properties.find((x) => x.number === PROP_LABEL)?.strval, "tank");
        const q = await fc.call<{
          status: number;
          infos: { state: string; space: { total: string; free: string; media_type: string }[] }[];
        }>("PoolQueryTarget", { sys, id: "tank", rank: 1, targets: [0] });
        equal(q.status, 0);
        equal(q.infos.length, 1);
        equal(q.infos[0].state, "UP_IN");
        deepEqual(q.infos[0].space.map((s) => s.media_type), ["SCM", "NVME"]);
        equal(Number(q.infos[0].space[0].total), Number(created!.tier_bytes[0]));
      });

      await t.step("PoolDestroy by label: list empty, shards gone, query not found", async () => {
        const d = await fc.call<{ status: number }>("PoolDestroy", { sys, id: "tank" }, 120_000);
        equal(d.status, 0);
        const r = await fc.call<ListResp>("ListPools", { sys });
        deepEqual(r.pools, []);
        for (const e of [0, 1]) {
          ok(!(await exists(`${c.server(0).dir}/scm${e}/${uuid}`)), `engine ${e} shard removed`);
        }
        const nf = await fc.fail("PoolQuery", { sys, id: "tank" });
        equal(nf.code, grpc.status.INTERNAL);
        equal(nf.infos[0]?.reason, "proto.system.ErrPoolNotFound");
        equal(nf.infos[0]?.domain, "DAOS");
        const info = JSON.parse(nf.infos[0]?.metadata.PoolInfo ?? "{}");
        equal(info.Label, "tank");
      });
    }),
  sanitizeOps: false,
  sanitizeResources: false,
});
