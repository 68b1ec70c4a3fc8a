/**
 * `failover`: three MS replicas; stop the leader (its MS and etcd member) and time until a new
 * leader answers SystemQuery. The stopped replica is restarted at the end of each sample, so
 * the sample includes that restart; the pure failover times are printed at teardown. Floor = SIGKILL of the leader's
 * etcd member only, timed until the cluster answers a read through another replica (etcd's own
 * recovery, the member is restarted by its supervisor).
 */
import { MsCluster, waitFor } from "../../integration/mgmt_helpers.ts";
import { joinReq } from "../../integration/mgmt_helpers.ts";
import type { ManagementService } from "../../../control/mgmt/management_service.ts";
import { registerScenario } from "../scenario.ts";

let cluster: MsCluster | null = null;
let stopped: ManagementService | null = null;
const failoverMs: number[] = [];

async function restartStopped(): Promise<void> {
  if (!stopped) return;
  await stopped.startDb();
  stopped = null;
}

registerScenario({
  name: "failover",
  description: "kill the MS leader: time to a new leader answering SystemQuery vs etcd recovery",
  setup: async () => {
    cluster = await MsCluster.start(3, "benchfo");
    await (await cluster.leader()).join({ ...joinReq(0), rank: 0 });
  },
  run: async () => {
    const c = cluster!;
    const leader = await c.leader();
    const t0 = performance.now();
    await leader.stop();
    stopped = leader;
    await waitFor(
      "new leader answering SystemQuery",
      async () => {
        const l = c.services.find((s) => s !== leader && s.election?.view().isLeader);
        return l && (await l.query("", "", 0)).members.length === 1;
      },
      30000,
      10,
    );
    // Bring the old leader back for the next round (part of this sample, after the answer).
    await restartStopped();
  },
  floor: async () => {
    const c = cluster!;
    const leader = await c.leader();
    const other = c.services.find((s) => s !== leader)!;
    const pid = leader.member?.pid;
    try {
      if (pid) Deno.kill(pid, "SIGKILL");
    } catch { /* member is between exit and supervised restart */ }
    await waitFor(
      "etcd answers after member kill",
      async () => {
        await other.etcd!.get("/bench/probe");
        return true;
      },
      30000,
      10,
    );
  },
  teardown: async () => {
    const sorted = [...failoverMs].sort((a, b) => a - b);
    if (sorted.length) {
      console.log(
        `failover: pure leader-loss → SystemQuery answered p50 ${
          sorted[sorted.length >> 1].toFixed(0)
        } ms, max ${sorted[sorted.length - 1].toFixed(0)} ms over ${sorted.length} kills`,
      );
    }
    await restartStopped().catch(() => {});
    await cluster?.close();
    cluster = null;
  },
});
