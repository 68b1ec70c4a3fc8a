/**
 * `failover`: three MS replicas on real etcd. run = crash the MS leader (no resignation, its
 * etcd member SIGKILLed) and time until another replica leads and answers SystemQuery; the
 * crashed replica is restarted at the end of the sample, so the sample includes that restart
 * (the pure failover times are printed at teardown). floor = SIGKILL the etcd raft leader's
 * member only and time until etcd has a new leader that serves a linearizable read (etcd's own
 * election; the member's supervisor restarts it).
 */
import type { ManagementService } from "../../../control/mgmt/management_service.ts";
import { joinReq, MsCluster, waitFor } from "../../integration/mgmt_helpers.ts";
import { registerScenario } from "../scenario.ts";

let cluster: MsCluster | null = null;
let crashed: ManagementService | null = null;
const failoverMs: number[] = [];
const etcdMs: number[] = [];

async function restartCrashed(): Promise<void> {
  if (!crashed) return;
  await crashed.startDb();
  crashed = null;
}

function p50max(v: number[]): string {
  const s = [...v].sort((a, b) => a - b);
  return s.length === 0
    ? "n/a"
    : `p50 ${s[s.length >> 1].toFixed(0)} ms, max ${s[s.length - 1].toFixed(0)} ms (${s.length})`;
}

registerScenario({
  name: "failover",
  description: "crash the MS leader: new leader answering SystemQuery vs etcd's own election",
  setup: async () => {
    cluster = await MsCluster.start(3, "benchfo");
    await (await cluster.leader()).join({ ...joinReq(0), rank: 0 });
  },
  run: async () => {
    const c = cluster!;
    const leader = await c.leader();
    const t0 = performance.now();
    await leader.crash();
    crashed = leader;
    await waitFor(
      "new leader answering SystemQuery",
      async () => {
        const l = c.services.find((s) => s !== leader && s.election?.view().isLeader);
        return l && (await l.query("", "", 0)).members.length === 1;
      },
      30000,
      10,
    );
    failoverMs.push(performance.now() - t0);
    await restartCrashed();
  },
  floor: async () => {
    const c = cluster!;
    // Every replica must be up and agree on an etcd leader before the kill.
    const views = await waitFor(
      "etcd leader known to all",
      async () => {
        const v = await Promise.all(c.services.map((s) => s.etcd!.status()));
        return v.every((x) => x.leader !== "0" && x.leader === v[0].leader) ? v : undefined;
      },
      30000,
      10,
    );
    const victim = c.services[views.findIndex((v) => v.memberId === v.leader)];
    const other = c.services.find((s) => s !== victim)!;
    const t0 = performance.now();
    try {
      Deno.kill(victim.member!.pid!, "SIGKILL");
    } catch { /* between exit and supervised restart */ }
    await waitFor(
      "etcd re-elected",
      async () => {
        const st = await other.etcd!.status();
        if (st.raftTerm <= views[0].raftTerm || st.leader === "0") return false;
        await other.etcd!.get("/bench/probe");
        return true;
      },
      30000,
      10,
    );
    etcdMs.push(performance.now() - t0);
  },
  teardown: async () => {
    console.log(`failover: MS leader crash → SystemQuery answered: ${p50max(failoverMs)}`);
    console.log(`failover: etcd leader kill → new etcd leader serving: ${p50max(etcdMs)}`);
    await restartCrashed().catch(() => {});
    await cluster?.close();
    cluster = null;
  },
});
