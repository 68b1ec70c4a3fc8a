/**
 * The MS's RAS event log and audit trail with real daos_servers, engines and etcd:
 * - secure mode: an engine killed shows up in SystemGetEvents within a second with host, rank
 *   and reason; SystemStop of rank 1 by a raw Connect client holding the admin certificate is
 *   an audit record naming the certificate's CN, and StorageFormat on every host (the other
 *   host forwards its record) is too;
 * - three replicas: a SystemFollowEvents stream resumed from its cursor across the stop of the
 *   leader's daos_server gets every stored event once, in order.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { createClient } from "@connectrpc/connect";
import { MgmtSvc } from "../../proto/gen/ts/mgmt/mgmt_pb.ts";
import type { RASLogEntry } from "../../proto/gen/ts/mgmt/events_pb.ts";
import { TransportPool } from "../../control/lib/rpc/transport.ts";
import { RasEventId } from "../../control/mgmt/ops/ras_log.ts";
import { DMG, LocalCluster } from "../cluster/local_cluster.ts";
import { CertDirs, secureConfigs } from "./tls_fixture.ts";
import { MsCluster } from "./mgmt_helpers.ts";
import { leaderChangedEvent } from "../../control/mgmt/ops/ras_log.ts";
import { create } from "@bufbuild/protobuf";
import { AuditRecordSchema } from "../../proto/gen/ts/mgmt/events_pb.ts";

Deno.test({
  name: "events and audit (secure): a killed engine within a second, SystemStop by admin's CN",
  fn: async () => {
    const certs = await CertDirs.create();
    let c: LocalCluster | undefined;
    let pool: TransportPool | undefined;
    try {
      c = await LocalCluster.create({ servers: 2, replicas: 1, engines: 1 });
      const cl = c;
      await secureConfigs(c, certs.good);
      await c.startAll();
      const f = await c.dmg(["storage", "format"]);
      equal(f.code, 0, f.stdout + f.stderr);
      await cl.waitFor(
        "ranks 0-1 joined",
        async () => (await cl.joinedRanks()).length === 2,
        30_000,
      );
      const members = await c.members();
      const rankOf = (i: number) => members.find((m) => m.addr === cl.servers[i].addr)!.rank;
      deepEqual([rankOf(0), rankOf(1)], [0, 1]);

      pool = new TransportPool({
        security: { allowInsecure: false, tls: await certs.load(certs.good, "admin") },
      });
      const ms = createClient(MgmtSvc, pool.get(c.servers[0].addr));
      const sys = c.name;

      // Kill rank 0's engine (its host is the MS replica; the MS runs on).
      const before = (await ms.systemGetEvents({ sys })).cursor;
      const [pid] = await c.enginePids(0);
      ok(pid > 0, "engine 0 of server 0 runs");
      const t0 = Date.now();
      Deno.kill(pid, "SIGKILL");
      const died = await cl.waitFor("engine_died of rank 0 in the event log", async () => {
        const r = await ms.systemGetEvents({ sys, after: before, ranks: "0" });
        return r.events.find((e) => e.event?.id === RasEventId.ENGINE_DIED) ?? null;
      }, 10_000);
      const elapsed = Date.now() - t0;
      ok(elapsed < 1000, `engine_died readable after ${elapsed} ms`);
      const ev = died.event!;
      equal(ev.hostname, Deno.hostname());
      equal(ev.rank, 0);
      ok(ev.incarnation > 0n, `incarnation ${ev.incarnation}`);
      ok(/exited unexpectedly: .*(signal|SIGKILL|9)/i.test(ev.msg), ev.msg);
      // The MS's own record of the state change follows it, from the same host.
      const change = await cl.waitFor("rank 0 joined -> errored", async () => {
        const r = await ms.systemGetEvents({ sys, after: died.seq, ranks: "0" });
        return r.events.find((e) =>
          e.event?.id === RasEventId.RANK_STATE_CHANGED && /joined -> errored/.test(e.event.msg)
        ) ?? null;
      }, 10_000);
      equal(change.event!.hostname, "127.0.0.1");

      // SystemStop of rank 1 through a raw Connect client with the admin certificate.
      const stop = await ms.systemStop({ sys, ranks: "1" });
      deepEqual(stop.results.map((r) => [r.rank, r.errored]), [[1, false]]);
      const audit = await ms.systemGetAudit({ sys });
      const rec = audit.records.find((r) => r.method === "/mgmt.MgmtSvc/SystemStop");
      ok(rec, JSON.stringify(audit.records.map((r) => r.method)));
      deepEqual(
        [rec.who, rec.component, rec.peer, rec.target, rec.outcome, rec.server],
        ["admin", "admin", "127.0.0.1", "ranks 1", "ok", c.servers[0].addr],
      );
      ok(Math.abs(Date.parse(rec.time) - Date.now()) < 60_000, rec.time);
      equal(audit.cursor, audit.records[audit.records.length - 1].seq);
      // dmg storage format reached both hosts: each is a record (host 1's forwarded).
      const formats = await cl.waitFor("both StorageFormat records", async () => {
        const r = (await ms.systemGetAudit({ sys })).records.filter((x) =>
          x.method === "/ctl.CtlSvc/StorageFormat"
        );
        return r.length >= 2 ? r : null;
      }, 10_000);
      deepEqual(
        new Set(formats.map((r) => [r.server, r.who, r.outcome].join(" "))),
        new Set(cl.servers.map((s) => `${s.addr} admin ok`)),
      );
      // dmg reads both: the audit line with the CN, engine_died as a JSON line.
      const dmgAudit = await c.dmg(["system", "audit"]);
      equal(dmgAudit.code, 0, dmgAudit.stderr);
      ok(
        dmgAudit.stdout.includes(
          `/mgmt.MgmtSvc/SystemStop by admin (admin) from 127.0.0.1 on ranks 1 at ${
            c.servers[0].addr
          }: ok`,
        ),
        dmgAudit.stdout,
      );
      const dmgEvents = await c.dmg(["-j", "system", "events", "-r", "0"]);
      equal(dmgEvents.code, 0, dmgEvents.stderr);
      const lines = dmgEvents.stdout.trim().split("\n").map((l) => JSON.parse(l));
      ok(
        lines.some((l) => l.name === "engine_died" && l.rank === 0 && l.seq === Number(died.seq)),
        dmgEvents.stdout,
      );
      // Every server's control log has its own records.
      ok((await c.log(1)).includes("AUDIT /ctl.CtlSvc/StorageFormat by admin"), "host 1 log");
      // The audit trail is admin's only: the server certificate may not read it.
      const srvPool = new TransportPool({
        security: { allowInsecure: false, tls: await certs.load(certs.good, "server") },
      });
      try {
        const denied = await createClient(MgmtSvc, srvPool.get(c.servers[0].addr))
          .systemGetAudit({ sys }).then(() => "read", (e) => String(e));
        ok(
          /server does not have permission to call \/mgmt.MgmtSvc\/SystemGetAudit/.test(denied),
          denied,
        );
      } finally {
        srvPool.close();
      }
    } finally {
      pool?.close();
      await c?.destroy();
      await certs.remove();
    }
  },
});

Deno.test({
  name: "events follow: a stream resumed from its cursor survives the leader's server stopping",
  fn: async () => {
    const c = await LocalCluster.create({ servers: 3, replicas: 3, engines: 1 });
    const pool = new TransportPool({ security: { allowInsecure: true } });
    const ac = new AbortController();
    let follower: Promise<void> = Promise.resolve();
    let dmgFollow: Deno.ChildProcess | null = null;
    try {
      await c.startAll();
      const f = await c.dmg(["storage", "format"]);
      equal(f.code, 0, f.stdout + f.stderr);
      await c.waitFor("3 joined", async () => (await c.joinedRanks()).length === 3, 60_000);
      const leaderOf = async () => {
        const r = await c.dmgJson<{ current_leader: string }>(["system", "leader-query"]);
        if (!r.response?.current_leader) throw new Error(`no leader: ${r.error}`);
        return r.response.current_leader;
      };
      const lead = await leaderOf();
      const sys = c.name;

      // Follow from the leader; on any failure resume after the cursor on the next replica.
      const got: RASLogEntry[] = [];
      const switches: string[] = [];
      let cursor = 0n;
      follower = (async () => {
        let i = c.servers.findIndex((s) => s.addr === lead);
        while (!ac.signal.aborted) {
          const addr = c.servers[i % 3].addr;
          try {
            const stream = createClient(MgmtSvc, pool.get(addr)).systemFollowEvents(
              { sys, after: cursor },
              { signal: ac.signal },
            );
            for await (const e of stream) {
              got.push(e);
              cursor = e.seq;
            }
          } catch (e) {
            if (ac.signal.aborted) return;
            switches.push(`${addr}: ${String(e).slice(0, 200)}`);
          }
          i++;
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      await c.waitFor("the follower saw the joins", () => Promise.resolve(got.length >= 3), 10_000);
      // dmg follows too, with every server in its host list (JSON lines on stdout).
      dmgFollow = new Deno.Command(DMG, {
        args: ["-o", c.dmgConfigPath, "-j", "system", "events", "--follow"],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      let dmgText = "";
      const dmgRead = dmgFollow.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
        new WritableStream({ write: (t) => void (dmgText += t) }),
      );
      const dmgErr = new Response(dmgFollow.stderr).text();

      // The leader's daos_server stops (its etcd member too): another replica leads.
      const leadIndex = c.servers.findIndex((s) => s.addr === lead);
      await c.stop(leadIndex);
      const next = await c.waitFor("a new leader", async () => {
        const l = await leaderOf().catch(() => "");
        return l !== "" && l !== lead ? l : null;
      }, 60_000);
      // More events from the new leader: stop and start a surviving rank.
      const other = (await c.members()).find((m) => m.addr === next)!.rank;
      equal((await c.dmg(["system", "stop", "-r", String(other)])).code, 0);
      equal((await c.dmg(["system", "start", "-r", String(other)])).code, 0);
      await c.waitFor("rank back", async () => (await c.joinedRanks()).includes(other), 30_000);

      // Everything stored, as the new leader reads it, reached the follower once, in order.
      const stored = createClient(MgmtSvc, pool.get(next));
      const all = await c.waitFor("the follower caught up", async () => {
        const r = await stored.systemGetEvents({ sys });
        const last = r.events[r.events.length - 1]?.seq ?? 0n;
        return cursor >= last && r.events.length > 0 ? r.events : null;
      }, 20_000);
      // (Events stored after `all` was read may follow; compared up to its last.)
      const lastSeq: bigint = all[all.length - 1].seq;
      ok(switches.length >= 1, "the stream had to move to another replica");
      // dmg printed the same events, once each, in order.
      const lastLine = `"seq":${all[all.length - 1].seq},`;
      await c.waitFor("dmg caught up", () => Promise.resolve(dmgText.includes(lastLine)), 20_000)
        .catch(() => {}); // compared below, whatever it printed
      const proc = dmgFollow;
      dmgFollow = null;
      proc.kill("SIGTERM");
      await proc.status;
      await dmgRead.catch(() => {});
      const dmgLines = dmgText.trim().split("\n")
        .map((l) => JSON.parse(l) as { seq: number; id: number; msg: string });
      deepEqual(
        dmgLines.filter((l) => BigInt(l.seq) <= lastSeq).map((l) => `${l.seq} ${l.id} ${l.msg}`),
        all.map((e) => `${e.seq} ${e.event?.id} ${e.event?.msg}`),
        await dmgErr,
      );
      const key = (e: RASLogEntry) => `${e.seq} ${e.event?.id} ${e.event?.rank} ${e.event?.msg}`;
      deepEqual(got.filter((e) => e.seq <= lastSeq).map(key), all.map(key));
      const seqs = got.map((e) => Number(e.seq));
      deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => seqs[0] + i));
      // The new leader announced itself, and the stopped rank's changes are there.
      ok(
        got.some((e) => e.event?.id === RasEventId.MS_LEADER_CHANGED && e.event.msg.includes(next)),
        got.map(key).join("\n"),
      );
      ok(
        got.some((e) => e.event?.rank === other && /-> stopped/.test(e.event.msg)),
        got.map(key).join("\n"),
      );
    } finally {
      ac.abort();
      await follower.catch(() => {});
      try {
        dmgFollow?.kill("SIGKILL");
      } catch { /* gone */ }
      await dmgFollow?.status;
      pool.close();
      await c.destroy();
    }
  },
});

Deno.test("event log on etcd: a burst of 1000 shares ~10 txns, the bound keeps the newest", async () => {
  const c = await MsCluster.start(1);
  try {
    const ms = await c.leader();
    c.db.rasLogSize = 50; // read at each batch
    const etcd = ms.etcd!;
    const rev0 = (await etcd.getPrefix("/daos-log/", { limit: 1 })).revision;
    const seqs = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => ms.raise(leaderChangedEvent(`burst:${i}`, "T"))),
    );
    const rev1 = (await etcd.getPrefix("/daos-log/", { limit: 1 })).revision;
    // One revision per transaction: ten batches of 100 (a few more if a write landed between).
    ok(rev1 - rev0 <= 13n, `${rev1 - rev0} etcd revisions for 1000 events`);
    const sorted = [...seqs].sort((a, b) => (a < b ? -1 : 1));
    deepEqual(seqs, sorted);
    equal(new Set(seqs).size, 1000, c.logs.filter((l) => !l.includes("RAS ms_leader")).join("\n"));
    equal(Number(seqs[999] - seqs[0]), 999);
    const r = await ms.getEvents({ after: 0n, since: "", ranks: "", limit: 0 });
    equal(r.events.length, 50);
    deepEqual(r.events.map((e) => e.seq), Array.from({ length: 50 }, (_, i) => seqs[950 + i]));
    equal(r.events[49].event?.msg, "MS leadership gained by replica burst:999");
    equal(r.cursor, seqs[999]);
    // Paging by cursor and limit.
    const page = await ms.getEvents({ after: seqs[989], since: "", ranks: "", limit: 3 });
    deepEqual(page.events.map((e) => e.seq), [seqs[990], seqs[991], seqs[992]]);
    equal(page.cursor, seqs[992]);
    // A forwarded megabyte message is stored, cut (whole, etcd would refuse the txn).
    await ms.clusterEvent({ id: 2, rank: 99, incarnation: 1n, msg: "m".repeat(1_400_000) });
    const big = await ms.getEvents({ after: 0n, since: "", ranks: "99", limit: 0 });
    deepEqual(big.events.map((e) => [e.event?.id, e.event?.msg.length]), [[2, 4096]]);
    // Audit records: stored with their own sequence, read back whole.
    const a = await ms.recordAudit(
      create(AuditRecordSchema, {
        who: "admin",
        method: "/mgmt.MgmtSvc/SystemStop",
        outcome: "ok",
      }),
    );
    const audit = await ms.getAudit({ after: 0n, limit: 0 });
    deepEqual(audit.records.map((x) => [x.seq, x.who, x.method, x.outcome]), [[
      a,
      "admin",
      "/mgmt.MgmtSvc/SystemStop",
      "ok",
    ]]);
  } finally {
    await c.close();
  }
});
