import { deepEqual as assertEquals, ok, rejects } from "node:assert/strict";
import { MgmtSvc } from "../../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { makeFault } from "../fault.ts";
import { MockInvoker, remote } from "./mock_invoker.ts";
import {
  DER,
  derivedRebuildState,
  fixPoolState,
  imbalancePercent,
  poolCreate,
  poolDestroy,
  usedPercent,
} from "./pool.ts";

const HOSTS = ["h1:10001"];

/** MS options with a fixed far deadline and a clock the retry hooks advance. */
function fixture() {
  // Starts at the real time: msRequest checks the deadline against the real clock.
  let t = Date.now();
  const slept: number[] = [];
  const hooks = {
    now: () => t,
    sleep: (ms: number) => {
      slept.push(ms);
      t += ms;
      return Promise.resolve();
    },
  };
  return {
    opts: { hosts: HOSTS, deadline: t + 3_600_000 },
    hooks,
    slept,
    advance: (ms: number) => t += ms,
  };
}

Deno.test("poolCreate: a v4 uuid is generated once and kept across retries", async () => {
  const m = new MockInvoker();
  const seen: string[] = [];
  m.on(MgmtSvc.method.poolCreate, (req, _a, n) => {
    seen.push(req.uuid);
    return n < 2 ? { status: DER.TIMEDOUT } : { status: 0, svcLdr: 1, tgtRanks: [0, 1] };
  });
  const { opts, hooks, slept } = fixture();
  const resp = await poolCreate(m, opts, { sys: "daos_server" }, hooks);
  assertEquals(resp.status, 0);
  assertEquals(resp.tgtRanks, [0, 1]);
  assertEquals(seen.length, 3);
  assertEquals(new Set(seen).size, 1);
  ok(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(seen[0]));
  assertEquals(resp.uuid, seen[0]);
  assertEquals(slept.length, 2);
});

Deno.test("poolCreate: every transient status is retried, others are returned at once", async () => {
  for (const st of [DER.TIMEDOUT, DER.GRPVER, DER.AGAIN, DER.OOG, DER.UNREACH, DER.EXCLUDED]) {
    const m = new MockInvoker();
    m.on(MgmtSvc.method.poolCreate, (_r, _a, n) => ({ status: n === 0 ? st : 0 }));
    const { opts, hooks } = fixture();
    assertEquals((await poolCreate(m, opts, { uuid: "u" }, hooks)).status, 0, `status ${st}`);
    assertEquals(m.calls.length, 2);
  }
  const m = new MockInvoker().reply(MgmtSvc.method.poolCreate, { status: -1007 });
  const { opts, hooks } = fixture();
  assertEquals((await poolCreate(m, opts, { uuid: "u" }, hooks)).status, -1007);
  assertEquals(m.calls.length, 1);
});

Deno.test("poolCreate: gives up at the 10-minute deadline with the last status", async () => {
  const m = new MockInvoker().reply(MgmtSvc.method.poolCreate, { status: DER.AGAIN });
  const { opts, hooks, slept } = fixture();
  const resp = await poolCreate(m, opts, { uuid: "u" }, hooks);
  assertEquals(resp.status, DER.AGAIN);
  // One try per second over 10 minutes, the last one returned.
  assertEquals(slept.length, 599);
});

Deno.test("poolCreate: data-plane-not-started is retried, other faults are not", async () => {
  const m = new MockInvoker();
  m.on(MgmtSvc.method.poolCreate, (_r, _a, n) => {
    if (n === 0) throw remote(makeFault("ServerDataPlaneNotStarted", "data plane is not started"));
    return { status: 0 };
  });
  const f = fixture();
  assertEquals((await poolCreate(m, f.opts, { uuid: "u" }, f.hooks)).status, 0);

  const m2 = new MockInvoker();
  m2.on(MgmtSvc.method.poolCreate, () => {
    throw remote(makeFault("ServerPoolDuplicateLabel", 'pool label "tank" already exists'));
  });
  await rejects(poolCreate(m2, f.opts, { uuid: "u" }, f.hooks), /already exists/);
  assertEquals(m2.calls.length, 1);
});

Deno.test("poolDestroy: not found on a retry is success, on the first try it is not", async () => {
  const m = new MockInvoker();
  m.on(
    MgmtSvc.method.poolDestroy,
    (_r, _a, n) => ({ status: n === 0 ? DER.TIMEDOUT : DER.NONEXIST }),
  );
  const f = fixture();
  assertEquals((await poolDestroy(m, f.opts, { id: "tank" }, f.hooks)).status, 0);
  assertEquals(m.calls.length, 2);

  const m2 = new MockInvoker().reply(MgmtSvc.method.poolDestroy, { status: DER.NONEXIST });
  assertEquals((await poolDestroy(m2, f.opts, { id: "tank" }, f.hooks)).status, DER.NONEXIST);
  assertEquals(m2.calls.length, 1);
});

Deno.test("pool maths: used and imbalance percentages", () => {
  assertEquals(usedPercent(0n, 0n), 0);
  assertEquals(usedPercent(100n, 100n), 0);
  assertEquals(usedPercent(100n, 0n), 100);
  assertEquals(usedPercent(3n, 1n), 66); // floor, not round
  assertEquals(usedPercent(100n, 150n), 0); // free above total: never negative
  // The spec's pool query example (§5.14): 16 active targets, SCM → 16 %, NVMe → 8 %.
  assertEquals(imbalancePercent(100_000_000_000n, 5_000_000_000n, 6_000_000_000n, 16), 16);
  assertEquals(
    imbalancePercent(6_000_000_000_000n, 20_000_000_000n, 50_000_000_000n, 16),
    8,
  );
  assertEquals(usedPercent(100_000_000_000n, 20_000_000_000n), 80);
  assertEquals(imbalancePercent(1000n, 10n, 10n, 4), 0);
  assertEquals(imbalancePercent(1000n, 10n, 20n, 0), 0);
  assertEquals(imbalancePercent(0n, 10n, 20n, 4), 0);
  // Exact beyond 2^53.
  assertEquals(imbalancePercent(2n ** 70n, 0n, 2n ** 60n, 1024), 100);
});

Deno.test("pool state fix-ups and derived rebuild state", () => {
  assertEquals(fixPoolState("Creating", 0, 8, 0), "Ready");
  assertEquals(fixPoolState("Ready", 0, 8, 1), "TargetsExcluded");
  assertEquals(fixPoolState("Ready", 0, 0, 0), "Unknown");
  assertEquals(fixPoolState("Destroying", -1005, 8, 1), "Destroying");
  assertEquals(derivedRebuildState("idle", -1018, true), "stopped");
  assertEquals(derivedRebuildState("idle", -1003, false), "failed");
  assertEquals(derivedRebuildState("done", -1003, false), "failed");
  assertEquals(derivedRebuildState("busy", -1018, true), "stopping");
  assertEquals(derivedRebuildState("busy", -1003, false), "failing");
  assertEquals(derivedRebuildState("busy", 0, false), undefined);
  assertEquals(derivedRebuildState("done", 0, false), undefined);
});
