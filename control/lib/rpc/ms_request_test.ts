import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import {
  type CallOptions,
  Code,
  ConnectError,
  createClient,
  type Transport,
} from "@connectrpc/connect";
import { MgmtSvc } from "../../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { type LeaderQueryResp, LeaderQueryRespSchema } from "../../../proto/gen/ts/mgmt/svc_pb.ts";
import { Fault, faults } from "../fault.ts";
import {
  decodeRemoteError,
  faultError,
  MsUnavailableError,
  NotLeaderError,
  notLeaderError,
  NotReplicaError,
  notReplicaError,
  toWireError,
} from "./error_codec.ts";
import { ErrorInfoSchema } from "../../../proto/gen/ts/google/rpc/error_details_pb.ts";
import { backoffMs, msRequest, pickCandidates } from "./ms_request.ts";
import { type ControlListener, listenControl, TransportPool } from "./transport.ts";
import { silentListener } from "./silent_listener_test_util.ts";

const insecure = { allowInsecure: true };
const query = (t: Transport, o: CallOptions) =>
  createClient(MgmtSvc, t).leaderQuery({ sys: "daos_server" }, o);

/** A server whose LeaderQuery runs `answer` (given the call count); returns its address. */
async function server(
  answer: (n: number) => LeaderQueryResp | Error,
): Promise<ControlListener & { calls: () => number }> {
  let n = 0;
  const l = await listenControl({
    host: "127.0.0.1",
    port: 0,
    security: insecure,
    routes: (r) =>
      r.service(MgmtSvc, {
        leaderQuery: () => {
          const a = answer(n++);
          if (a instanceof Error) throw a;
          return a;
        },
      }),
  });
  return Object.assign(l, { calls: () => n });
}

const noSleep = () => Promise.resolve();

Deno.test("msRequest follows NotReplica then NotLeader hints to the leader", async () => {
  const leader = await server(() => create(LeaderQueryRespSchema, { currentLeader: "me" }));
  const follower = await server(() => notLeaderError(leader.address, [leader.address]));
  const plain = await server(() => notReplicaError([follower.address]));
  const pool = new TransportPool({ security: insecure });
  const waits: string[] = [];
  try {
    const resp = await msRequest(pool, query, {
      hosts: [plain.address],
      deadline: Date.now() + 10_000,
      name: "LeaderQuery",
      sleep: noSleep,
      onWait: (d) => waits.push(d),
    });
    equal(resp.currentLeader, "me");
    deepEqual([plain.calls(), follower.calls(), leader.calls()], [1, 1, 1]);
    deepEqual(waits, [], "following hints is routing, not a wait to report");
  } finally {
    pool.close();
    for (const s of [leader, follower, plain]) await s.close();
  }
});

Deno.test("msRequest retries 'not ready' answers with backoff and stops on Unimplemented", async () => {
  const flaky = await server((n) =>
    n < 2
      ? toWireError(new MsUnavailableError("unavailable"))
      : create(LeaderQueryRespSchema, { currentLeader: "x" })
  );
  const unimpl = await server(() => new ConnectError("nope", Code.Unimplemented));
  const pool = new TransportPool({ security: insecure });
  const waits: number[] = [];
  try {
    const resp = await msRequest(pool, query, {
      hosts: [flaky.address],
      deadline: Date.now() + 10_000,
      name: "LeaderQuery",
      sleep: (ms) => (waits.push(ms), Promise.resolve()),
      random: () => 0,
    });
    equal(resp.currentLeader, "x");
    deepEqual(waits, [0, 250]);

    const err = await msRequest(pool, query, {
      hosts: [unimpl.address],
      deadline: Date.now() + 10_000,
      name: "LeaderQuery",
      sleep: noSleep,
    }).then(() => undefined, (e: Error) => e);
    equal(err?.message, "rpc error: code = Unimplemented desc = nope");
    equal(unimpl.calls(), 1);
  } finally {
    pool.close();
    await flaky.close();
    await unimpl.close();
  }
});

Deno.test("msRequest: unreachable MS is reported as 'unable to contact', deadline as fault 510", async () => {
  const gone = await listenControl({
    host: "127.0.0.1",
    port: 0,
    security: insecure,
    routes: () => {},
  });
  const addr = gone.address;
  await gone.close();
  const pool = new TransportPool({ security: insecure });
  try {
    await rejects(
      msRequest(pool, query, { hosts: [addr], deadline: Date.now() + 10_000, name: "LeaderQuery" }),
      (e: Error) => {
        equal(
          e.message,
          `client: code = 506 description = "the server at ${addr} refused the connection": unable to contact the DAOS Management Service`,
        );
        ok(!(e instanceof Fault), "root cause is not the fault (no resolution line)");
        return true;
      },
    );
    const stuck = await server(() => toWireError(new MsUnavailableError("step-up")));
    try {
      const waits: string[] = [];
      await rejects(
        msRequest(pool, query, {
          hosts: [stuck.address],
          deadline: Date.now() + 600,
          name: "LeaderQuery",
          onWait: (d) => waits.push(d),
        }),
        (e: Error) => {
          // The MS's own diagnosis first (as `system erase` reports it), then the timeout.
          equal(
            e.message,
            "leader step-up in progress: the LeaderQuery request timed out after 600ms; " +
              "1 of 1 hosts asked not ready",
          );
          ok(e.cause instanceof Fault && e.cause.code === 510, "cause: fault 510");
          return true;
        },
      );
      ok(stuck.calls() >= 2, "retried while not ready");
      // Each retry said what it waits for (the last one may meet the deadline in its backoff).
      ok(waits.length >= stuck.calls() - 1 && waits.length <= stuck.calls(), `${waits.length}`);
      deepEqual(
        [...new Set(waits)],
        ["no MS leader yet: 1 of 1 hosts asked not ready (leader step-up in progress)"],
      );
    } finally {
      await stuck.close();
    }
  } finally {
    pool.close();
  }
});

Deno.test("pickCandidates: at most 5 distinct hosts; backoff doubles and caps", () => {
  const hosts = Array.from({ length: 9 }, (_, i) => `h${i}:1`);
  const picked = pickCandidates([...hosts, ...hosts]);
  equal(picked.length, 5);
  equal(new Set(picked).size, 5);
  deepEqual(pickCandidates(["a:1", "a:1", "b:1"]).sort(), ["a:1", "b:1"]);
  const r0 = () => 0;
  deepEqual([1, 2, 3, 4, 7, 9].map((a) => backoffMs(a, r0)), [0, 250, 500, 1000, 8000, 8000]);
});

Deno.test("error codec: encoders carry ErrorInfo exactly as server.md §5.2 and decode back", () => {
  const nl = notLeaderError("a:10001", ["a:10001", "b:10001"]);
  equal(nl.code, Code.Internal);
  equal(
    nl.rawMessage,
    "not the DAOS Management Service leader (try a:10001 or one of a:10001,b:10001)",
  );
  const info = nl.findDetails(ErrorInfoSchema)[0];
  equal(info.reason, "proto.system.ErrNotLeader");
  equal(info.domain, "DAOS");
  deepEqual({ ...info.metadata }, { LeaderHint: "a:10001", Replicas: '["a:10001","b:10001"]' });
  const back = decodeRemoteError(nl);
  ok(back instanceof NotLeaderError);
  equal(back.leaderHint, "a:10001");
  deepEqual(back.replicas, ["a:10001", "b:10001"]);

  const nr = notReplicaError(["r1:10001"]);
  equal(nr.findDetails(ErrorInfoSchema)[0].reason, "proto.system.ErrNotReplica");
  const nrBack = decodeRemoteError(nr);
  ok(nrBack instanceof NotReplicaError);
  deepEqual(nrBack.replicas, ["r1:10001"]);

  const f = faults.ServerWrongSystem("x", "y");
  const fi = faultError(f).findDetails(ErrorInfoSchema)[0];
  equal(fi.reason, "proto.fault.Fault");
  equal(fi.domain, "server");
  equal(fi.metadata.Code, "603");
  const fb = decodeRemoteError(faultError(f));
  ok(fb instanceof Fault);
  equal(fb.message, f.message);
  equal(fb.resolution, f.resolution);

  const plain = decodeRemoteError(new ConnectError("boom", Code.Unknown));
  equal(plain.message, "rpc error: code = Unknown desc = boom");
});

Deno.test("msRequest: 5 random candidates from the configured list, all hosts when explicit", async () => {
  const servers: Awaited<ReturnType<typeof server>>[] = [];
  for (let i = 0; i < 6; i++) {
    servers.push(await server(() => create(LeaderQueryRespSchema, { currentLeader: "l" })));
  }
  const pool = new TransportPool({ security: insecure });
  try {
    const hosts = servers.map((s) => s.address);
    await msRequest(pool, query, { hosts, deadline: Date.now() + 10_000, name: "LeaderQuery" });
    equal(servers.reduce((n, s) => n + s.calls(), 0), 5);
    await msRequest(pool, query, {
      hosts,
      explicit: true,
      deadline: Date.now() + 10_000,
      name: "LeaderQuery",
    });
    // The first success cancels the rest: the one host without a session yet (not among the
    // 5 above) may get its call just after msRequest returned. Wait for it (bounded).
    const total = () => servers.reduce((n, s) => n + s.calls(), 0);
    for (let i = 0; i < 100 && total() < 11; i++) await new Promise((r) => setTimeout(r, 20));
    equal(total(), 11);
  } finally {
    pool.close();
    for (const s of servers) await s.close();
  }
});

/** Bounds a test that would otherwise hang on a regression; not a speed assertion. */
const GUARD_MS = 20_000;

Deno.test("msRequest: the first success wins; a silent candidate is cancelled, not awaited", async () => {
  const silent = await silentListener();
  const healthy = await server(() => create(LeaderQueryRespSchema, { currentLeader: "ok" }));
  // Connect timeout and per-try far beyond the guard: only cancellation can end the silent call.
  const pool = new TransportPool({ security: insecure, connectTimeoutMs: 10 * GUARD_MS });
  try {
    const resp = await msRequest(pool, query, {
      hosts: [silent.address, healthy.address],
      explicit: true,
      deadline: Date.now() + 10 * GUARD_MS,
      perTryMs: 10 * GUARD_MS,
      name: "LeaderQuery",
      signal: AbortSignal.timeout(GUARD_MS),
    });
    // An answer before the guard fired, with the silent host's connection still open: the
    // request did not wait for that host (its session set-up is left to the connect timeout).
    equal(resp.currentLeader, "ok");
    equal(silent.accepted(), 1, "the silent host was asked too");
    equal(silent.closedByClient(), 0);
    pool.close();
    ok(await silent.waitClosed(1, GUARD_MS), "closing the pool ends the pending session");
  } finally {
    pool.close();
    await silent.close();
    await healthy.close();
  }
});

Deno.test("msRequest: a NotLeader hint is followed once a silent candidate's connect timed out", async () => {
  const silent = await silentListener();
  const leader = await server(() => create(LeaderQueryRespSchema, { currentLeader: "L" }));
  const follower = await server(() => notLeaderError(leader.address, [leader.address]));
  const pool = new TransportPool({ security: insecure, connectTimeoutMs: 300 });
  try {
    const resp = await msRequest(pool, query, {
      hosts: [silent.address, follower.address],
      explicit: true,
      deadline: Date.now() + 10 * GUARD_MS,
      perTryMs: 10 * GUARD_MS,
      name: "LeaderQuery",
      sleep: noSleep,
      signal: AbortSignal.timeout(GUARD_MS),
    });
    equal(resp.currentLeader, "L");
    deepEqual([follower.calls(), leader.calls()], [1, 1]);
    ok(await silent.waitClosed(1, GUARD_MS), "the silent host's connection was given up");
  } finally {
    pool.close();
    await silent.close();
    await leader.close();
    await follower.close();
  }
});

Deno.test("msRequest: a silent only candidate is a connect timeout (508), not a hang", async () => {
  const silent = await silentListener();
  const pool = new TransportPool({ security: insecure, connectTimeoutMs: 300 });
  try {
    const err = await msRequest(pool, query, {
      hosts: [silent.address],
      deadline: Date.now() + 10 * GUARD_MS,
      name: "LeaderQuery",
      signal: AbortSignal.timeout(GUARD_MS),
    }).then(() => undefined, (e: Error) => e);
    equal(
      err?.message,
      `client: code = 508 description = "the connection to the server at ${silent.address} timed out": unable to contact the DAOS Management Service`,
    );
    equal(silent.accepted(), 1);
  } finally {
    pool.close();
    await silent.close();
  }
});

Deno.test("msRequest: a hung handler costs one per-try timeout per try, then fault 510", async () => {
  const aborted: boolean[] = [];
  let n = 0;
  const hung = await listenControl({
    host: "127.0.0.1",
    port: 0,
    security: insecure,
    routes: (r) =>
      r.service(MgmtSvc, {
        leaderQuery: (_req, ctx) =>
          new Promise((_resolve, reject) => {
            n++;
            ctx.signal.addEventListener("abort", () => {
              aborted.push(true);
              reject(new ConnectError("cancelled", Code.Canceled));
            }, { once: true });
          }),
      }),
  });
  const healthy = await server(() => create(LeaderQueryRespSchema, { currentLeader: "h" }));
  const pool = new TransportPool({ security: insecure });
  try {
    const err = await msRequest(pool, query, {
      hosts: [hung.address],
      deadline: Date.now() + 900,
      perTryMs: 200,
      name: "LeaderQuery",
      sleep: noSleep,
    }).then(() => undefined, (e: Error) => e);
    ok(err instanceof Fault && err.code === 510, String(err));
    ok(n >= 2, `retried after the per-try timeout (${n} calls)`);
    // With a healthy candidate the hung one is cancelled as soon as the answer is in.
    const before = aborted.length;
    const resp = await msRequest(pool, query, {
      hosts: [hung.address, healthy.address],
      explicit: true,
      deadline: Date.now() + 10 * GUARD_MS,
      perTryMs: 10 * GUARD_MS,
      name: "LeaderQuery",
      signal: AbortSignal.timeout(GUARD_MS),
    });
    equal(resp.currentLeader, "h");
    for (let i = 0; i < 200 && aborted.length === before; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    equal(aborted.length, before + 1, "the hung server saw the cancellation");
  } finally {
    pool.close();
    await hung.close();
    await healthy.close();
  }
});
