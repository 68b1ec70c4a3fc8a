/**
 * The leader's join queue against the in-memory store: concurrent joins share one commit, a
 * bad join fails alone, a failed commit fails its whole batch, queued joins are rejected when
 * the replica stops leading.
 */
import { deepEqual, equal, rejects } from "node:assert/strict";
import { NotLeaderError } from "../../lib/rpc/error_codec.ts";
import { ATTR_PROVIDERS, type JoinInput } from "../join.ts";
import { joinInput, NOW, type OpsFixture, opsFixture } from "../testing/fixture.ts";
import { JoinQueue } from "./join.ts";

/** The join of engine `n` on host 10.0.0.n. */
function req(n: number, over: Partial<JoinInput> = {}): JoinInput {
  return joinInput({
    uuid: `00000000-0000-0000-0000-${n.toString().padStart(12, "0")}`,
    uri: `ofi+tcp://10.0.0.${n}:31416`,
    addr: `10.0.0.${n}:10001`,
    srvFaultDomain: `/host${n}`,
    ...over,
  });
}

function queue(fx: OpsFixture): { q: JoinQueue; joined: () => number } {
  let joined = 0;
  const q = new JoinQueue({
    write: (fn) => fx.writes.write(fn),
    onJoined: () => joined++,
    now: () => NOW,
  });
  return { q, joined: () => joined };
}

const PROVIDER = { attrs: new Map([[ATTR_PROVIDERS, "ofi+tcp"]]) };

Deno.test("join queue: concurrent joins share one commit; a bad one fails alone", async () => {
  const fx = opsFixture([], PROVIDER);
  const { q, joined } = queue(fx);
  const out = await Promise.allSettled([
    q.submit(req(1)),
    q.submit(req(2, { uri: "ofi+verbs://10.0.0.2:1" })), // another provider than the system's
    q.submit(req(3)),
  ]);
  deepEqual(out.map((o) => o.status), ["fulfilled", "rejected", "fulfilled"]);
  // The first join is committed alone (it started the drain); the two queued behind it share one.
  const ranks = out.flatMap((o) => o.status === "fulfilled" ? [o.value.rank] : []);
  deepEqual(ranks.sort(), [1, 2]); // NextRank starts at 1
  deepEqual(fx.store.members().map((m) => [m.rank, m.state, m.addr]), [
    [1, "joined", "10.0.0.1:10001"],
    [2, "joined", "10.0.0.3:10001"],
  ]);
  equal(fx.store.commitCalls, 2);
  equal(joined(), 2);
  const third = out[2] as PromiseFulfilledResult<{ mapVersion: number }>;
  equal(third.value.mapVersion, fx.store.state.mapVersion);
});

Deno.test("join queue: a failed commit fails every join of its batch", async () => {
  const fx = opsFixture([], PROVIDER);
  const { q, joined } = queue(fx);
  fx.store.loseLeadershipAtNextCommit("10.0.0.8:10001");
  const out = await Promise.allSettled([q.submit(req(1)), q.submit(req(2))]);
  equal(out[0].status, "rejected");
  equal((out[0] as PromiseRejectedResult).reason instanceof NotLeaderError, true);
  equal(out[1].status, "rejected");
  equal(fx.store.members().length, 0);
  equal(joined(), 0);
});

Deno.test("join queue: rejectAll fails the joins still queued", async () => {
  const fx = opsFixture([], PROVIDER);
  const { q } = queue(fx);
  const first = q.submit(req(1)); // in the batch being committed
  const queued = q.submit(req(2));
  q.rejectAll(new NotLeaderError("", []));
  await rejects(queued, NotLeaderError);
  equal((await first).rank, 1);
});
