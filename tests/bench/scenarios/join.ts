/**
 * `join-256` / `join-1024`: N simulated engines join one MS replica (real etcd) concurrently,
 * timed until all are Joined; floor = N concurrent raw etcd transactions through the same
 * client (the etcd throughput the MS builds on).
 *
 * Every run adds N new members. The system is kept at the size it is designed for (10k
 * ranks): before a run that would take it past MAX_MEMBERS, the cluster is replaced by a fresh
 * one (untimed), so each sample is a burst of N joins into a system of at most MAX_MEMBERS.
 */
import { joinReq, MsCluster } from "../../integration/mgmt_helpers.ts";
import { registerScenario } from "../scenario.ts";

/** Members a cluster may reach before it is replaced (the 10k-rank design size). */
const MAX_MEMBERS = 10_000;

for (const n of [256, 1024]) {
  let cluster: MsCluster | null = null;
  let members = 0;
  let round = 0;
  const fresh = async () => {
    await cluster?.close();
    cluster = null;
    cluster = await MsCluster.start(1, `bench${n}`);
    members = 0;
  };
  registerScenario({
    name: `join-${n}`,
    description: `${n} engines join concurrently (batched fenced txns) vs ${n} raw etcd txns`,
    setup: fresh,
    beforeRun: async (batch) => {
      if (members + batch * n > MAX_MEMBERS) await fresh();
    },
    run: async () => {
      const ms = await cluster!.leader();
      round++;
      members += n;
      const outs = await Promise.all(
        Array.from(
          { length: n },
          (_, i) => ms.join(joinReq(i, `10.${round & 255}.${i >> 8}.${i & 255}:10001`)),
        ),
      );
      if (new Set(outs.map((o) => o.rank)).size !== n) throw new Error("duplicate ranks issued");
    },
    floor: async () => {
      const ms = await cluster!.leader();
      round++;
      await Promise.all(
        Array.from(
          { length: n },
          (_, i) => ms.etcd!.txn([], [{ put: `/bench/raw/${round}/${i}`, value: "x" }]),
        ),
      );
    },
    teardown: async () => {
      await cluster?.close();
      cluster = null;
    },
  });
}
