/**
 * `join-256` / `join-1024`: N simulated engines join one MS replica (real etcd) concurrently,
 * timed until all are Joined; floor = N concurrent raw etcd transactions through the same
 * client (the etcd throughput the MS builds on).
 */
import { joinReq, MsCluster } from "../../integration/mgmt_helpers.ts";
import { registerScenario } from "../scenario.ts";

for (const n of [256, 1024]) {
  let cluster: MsCluster | null = null;
  let round = 0;
  registerScenario({
    name: `join-${n}`,
    description: `${n} engines join concurrently (batched fenced txns) vs ${n} raw etcd txns`,
    setup: async () => {
      cluster = await MsCluster.start(1, `bench${n}`);
    },
    run: async () => {
      const ms = await cluster!.leader();
      round++;
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
