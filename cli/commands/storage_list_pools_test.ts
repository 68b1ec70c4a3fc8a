/**
 * `dmg storage query list-pools` on a MockInvoker: the request (omit_devices, rank, uuid),
 * the reference layout (`Pools`, `UUID:`, `Rank:… Targets:[…]`, `-v` blobs), host grouping,
 * -j `smd_info.pools`, host errors and flag errors.
 */
import { deepEqual, equal, match } from "node:assert/strict";
import { MockInvoker, refused } from "../../control/lib/control/mock_invoker.ts";
import { NilRank } from "../../control/lib/rankset.ts";
import { CtlSvc } from "../../proto/gen/ts/ctl/ctl_pb.ts";
import type { SmdQueryReq } from "../../proto/gen/ts/ctl/smd_pb.ts";
import { runDmg } from "../testing/dmg_harness.ts";

const Q = CtlSvc.method.smdQuery;
const H1 = "h1:10001";
const H2 = "h2:10001";
const P0 = "11111111-2222-4333-8444-555555555555";
const P1 = "66666666-7777-4888-9999-aaaaaaaaaaaa";

/** h1 holds ranks 0 and 1 (P1 on rank 1 only, P0 on both), h2 rank 2 (P0). */
function hosts(m: MockInvoker): void {
  const byHost: Record<
    string,
    { rank: number; pools: { uuid: string; tgtIds: number[]; blobs: bigint[] }[] }[]
  > = {
    [H1]: [
      { rank: 0, pools: [{ uuid: P0, tgtIds: [0, 1], blobs: [0n, 0n] }] },
      {
        rank: 1,
        pools: [
          { uuid: P1, tgtIds: [1], blobs: [4096n] },
          { uuid: P0, tgtIds: [0, 1], blobs: [8192n, 0n] },
        ],
      },
    ],
    [H2]: [{ rank: 2, pools: [{ uuid: P0, tgtIds: [0, 1], blobs: [0n, 0n] }] }],
  };
  m.on(Q, (req: SmdQueryReq, addr) => ({
    ranks: byHost[addr]
      .filter((r) => req.rank === NilRank || req.rank === r.rank)
      .map((r) => ({
        rank: r.rank,
        pools: r.pools.filter((p) => req.uuid === "" || req.uuid === p.uuid),
      })),
  }));
}

Deno.test("list-pools: per host set, UUIDs sorted, ranks in order; request omits devices", async () => {
  const m = new MockInvoker();
  hosts(m);
  const r = await runDmg(["storage", "query", "list-pools"], m);
  equal(r.code, 0, r.err);
  equal(
    r.out,
    "--\nh1\n--\n  Pools\n" +
      `    UUID:${P0}\n      Rank:0 Targets:[0 1]\n      Rank:1 Targets:[0 1]\n\n` +
      `    UUID:${P1}\n      Rank:1 Targets:[1]\n\n` +
      "--\nh2\n--\n  Pools\n" +
      `    UUID:${P0}\n      Rank:2 Targets:[0 1]\n\n`,
  );
  const [req] = m.requests(Q) as SmdQueryReq[];
  deepEqual([req.omitDevices, req.omitPools, req.uuid, req.rank], [true, false, "", NilRank]);
});

Deno.test("list-pools -v shows blobs; -r and -u filter (none found on a host)", async () => {
  const m = new MockInvoker();
  hosts(m);
  const v = await runDmg(["storage", "query", "list-pools", "-v", "-l", "h1", "-u", P1], m);
  equal(v.code, 0, v.err);
  equal(v.out, `--\nh1\n--\n  Pools\n    UUID:${P1}\n      Rank:1 Targets:[1] Blobs:[4096]\n\n`);
  equal((m.requests(Q) as SmdQueryReq[])[0].uuid, P1);
  const r = await runDmg(["storage", "query", "list-pools", "-r", "2"], m);
  equal(
    r.out,
    "--\nh1\n--\n  No pools with NVMe found\n" +
      `--\nh2\n--\n  Pools\n    UUID:${P0}\n      Rank:2 Targets:[0 1]\n\n`,
  );
  equal((m.requests(Q) as SmdQueryReq[]).at(-1)!.rank, 2);
});

Deno.test("list-pools -j: smd_info.pools keyed by UUID", async () => {
  const m = new MockInvoker();
  hosts(m);
  const r = await runDmg(["-j", "storage", "query", "list-pools", "-l", "h2"], m);
  equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out);
  const sets = Object.values(doc.response.HostStorage) as {
    hosts: string;
    storage: { smd_info: { devices: unknown; pools: Record<string, unknown> } };
  }[];
  equal(sets.length, 1);
  equal(sets[0].hosts, "h2:10001");
  equal(sets[0].storage.smd_info.devices, null);
  deepEqual(sets[0].storage.smd_info.pools, {
    [P0]: [{ uuid: P0, tgt_ids: [0, 1], blobs: [0, 0], rank: 2 }],
  });
});

Deno.test("list-pools: unreachable host is a host error; bad --uuid/--rank refused first", async () => {
  const m = new MockInvoker();
  hosts(m);
  m.on(Q, (_r, addr) => {
    throw refused(addr);
  }, H2);
  const r = await runDmg(["storage", "query", "list-pools"], m);
  equal(r.code, 1);
  match(r.out, /^Errors:\n.*h2 +the server at h2:10001 refused the connection/s);
  match(r.out, /--\nh1\n--\n {2}Pools\n/);
  equal(r.err, "ERROR: dmg: 1 host had errors\n");
  const calls = m.calls.length;
  const bad = await runDmg(["storage", "query", "list-pools", "-u", "nope"], m);
  equal(bad.code, 1);
  match(bad.err, /invalid pool UUID "nope" \(--uuid\)/);
  const badRank = await runDmg(["storage", "query", "list-pools", "-r", "x"], m);
  equal(badRank.code, 1);
  match(badRank.err, /expected uint32/);
  equal(m.calls.length, calls);
});
