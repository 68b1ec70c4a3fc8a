/**
 * Telemetry benches (issue 13), each against a floor measured in the same run:
 * - `telemetry-scrape-2`, `telemetry-scrape-16`: an HTTP GET of `/metrics` from the exporter
 *   (control/server/telemetry_exporter.ts) reading the shared-memory trees of 2 / 16 real
 *   bin/daos_engine processes (ranked, with dRPC metrics), plus the control-plane metrics, vs
 *   a GET of a static page of the same size from a second HTTP server in the same process;
 *   teardown prints the raw tree read (FFI, all engines) that the scrape includes.
 * - `telemetry-drpc-cost`: a PingRank round trip to an engine keeping telemetry vs the same to
 *   an engine started with DAOS_TM_DISABLE=1 (no tree: every update is a NULL check).
 * - `events-follow`: a RAS event sent to the MS (ClusterEvent) until its line appears on the
 *   stdout of a running `dmg -j system events --follow`, vs a unary SystemGetEvents round
 *   trip to the same MS (6-rank simulated system).
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { callDrpc } from "../../../control/drpc/client.ts";
import { readMessage, StreamReader, writeMessage } from "../../../control/drpc/framing.ts";
import { DrpcModule, MgmtMethod } from "../../../control/drpc/ids.ts";
import { TransportPool } from "../../../control/lib/rpc/transport.ts";
import { ControlPlaneMetrics } from "../../../control/server/cp_metrics.ts";
import {
  engineTreeReader,
  serveTelemetry,
  TelemetryExporter,
  type TelemetryServer,
} from "../../../control/server/telemetry_exporter.ts";
import {
  closeTelemetryReader,
  readEngineMetrics,
  TelemetryError,
} from "../../../engine-ffi/telemetry.ts";
import { ResponseSchema, Status } from "../../../proto/gen/ts/drpc/drpc_pb.ts";
import { SystemGetEventsReqSchema } from "../../../proto/gen/ts/mgmt/events_pb.ts";
import { MgmtSvc } from "../../../proto/gen/ts/mgmt/mgmt_pb.ts";
import { PingRankReqSchema, SetRankReqSchema } from "../../../proto/gen/ts/mgmt/srv_pb.ts";
import { ClusterEventReqSchema, RASEventSchema } from "../../../proto/gen/ts/shared/event_pb.ts";
import { DMG } from "../../cluster/local_cluster.ts";
import { Simulation } from "../scale/sim_client.ts";
import { registerScenario } from "../scenario.ts";

const top = new URL("../../../", import.meta.url).pathname;
const opts = { timeoutMs: 5000 };
const pingBody = toBinary(PingRankReqSchema, create(PingRankReqSchema, { rank: 1 }));

/** A daos_server.sock stand-in acknowledging every NotifyReady; counts them. */
function fakeServer(path: string): { listener: Deno.Listener; notified: () => number } {
  const l = Deno.listen({ transport: "unix", path });
  let n = 0;
  (async () => {
    for await (const c of l) {
      try {
        const raw = await readMessage(new StreamReader(c));
        if (raw === null) continue;
        n++;
        await writeMessage(c, toBinary(ResponseSchema, create(ResponseSchema, {})));
      } catch {
        /* the engine went away mid-call */
      } finally {
        c.close();
      }
    }
  })().catch(() => undefined);
  return { listener: l, notified: () => n };
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`bench: timed out waiting for ${what}`);
}

/** Real engines of one system sharing one directory and one fake daos_server. */
class Engines {
  readonly procs: Deno.ChildProcess[] = [];
  readonly socks: string[] = [];
  #server: ReturnType<typeof fakeServer> | null = null;

  private constructor(readonly dir: string, readonly system: string) {}

  /** Starts `n` engines (instances 0..n-1, ranks = instance), ready and ranked. */
  static async start(n: number, env: Record<string, string>[] = []): Promise<Engines> {
    const dir = await Deno.makeTempDir({ prefix: "bench_tm_" });
    const system = `benchtm_${Deno.pid}_${Math.floor(Math.random() * 1e6)}`;
    const e = new Engines(dir, system);
    try {
      e.#server = fakeServer(`${dir}/daos_server.sock`);
      for (let i = 0; i < n; i++) {
        await Deno.mkdir(`${dir}/scm${i}`);
        const child = new Deno.Command(`${top}bin/daos_engine`, {
          args: [
            "-t",
            "1",
            "-x",
            "0",
            "-s",
            `${dir}/scm${i}`,
            "-d",
            dir,
            "-I",
            `${i}`,
            "-g",
            system,
          ],
          env: { DAOS_FABRIC_ADDR: "127.0.0.1", D_LOG_FILE: `${dir}/engine${i}.log`, ...env[i] },
          stdin: "null",
          stdout: "null",
          stderr: "null",
        }).spawn();
        e.procs.push(child);
        e.socks.push(`${dir}/daos_engine_${child.pid}.sock`);
      }
      await waitFor(`${n} NotifyReady`, () => e.#server!.notified() >= n);
      for (let i = 0; i < n; i++) {
        const r = await callDrpc(
          e.socks[i],
          DrpcModule.MGMT,
          MgmtMethod.SET_RANK,
          toBinary(SetRankReqSchema, create(SetRankReqSchema, { rank: i, mapVersion: 1 })),
          opts,
        );
        if (r.status !== Status.SUCCESS) throw new Error(`bench: SetRank of engine ${i} failed`);
      }
      return e;
    } catch (err) {
      await e.close();
      throw err;
    }
  }

  /** PingRank to engine i. */
  async ping(i: number): Promise<void> {
    const r = await callDrpc(this.socks[i], DrpcModule.MGMT, MgmtMethod.PING_RANK, pingBody, opts);
    if (r.status !== Status.SUCCESS) throw new Error(`PingRank of engine ${i} failed`);
  }

  async close(): Promise<void> {
    for (const p of this.procs) {
      try {
        p.kill("SIGTERM");
      } catch { /* exited */ }
    }
    for (const p of this.procs) {
      const t = setTimeout(() => {
        try {
          p.kill("SIGKILL");
        } catch { /* exited */ }
      }, 5000);
      await p.status;
      clearTimeout(t);
    }
    this.#server?.listener.close();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    // A SIGKILLed engine leaves its tree: remove what is ours.
    for (let i = 0; i < this.procs.length; i++) {
      await Deno.remove(`/dev/shm/daos_tm_${this.system}_${i}`).catch(() => {});
    }
  }
}

for (const n of [2, 16]) {
  interface ScrapeSetup {
    engines: Engines;
    exporter: TelemetryExporter;
    metrics: TelemetryServer;
    statik: Deno.HttpServer<Deno.NetAddr>;
    metricsUrl: string;
    staticUrl: string;
    bytes: number;
  }
  let s: ScrapeSetup | null = null;
  registerScenario({
    name: `telemetry-scrape-${n}`,
    description: `GET /metrics over ${n} real engines' telemetry trees + control-plane ` +
      "metrics vs GET of a static page of the same size (same process)",
    setup: async () => {
      const engines = await Engines.start(n);
      let metrics: TelemetryServer | null = null;
      try {
        // dRPC metrics in every tree, as a serving engine has them.
        for (let i = 0; i < n; i++) for (let k = 0; k < 5; k++) await engines.ping(i);
        await waitFor("every tree readable", () => {
          try {
            for (let i = 0; i < n; i++) readEngineMetrics(engines.system, i);
            return true;
          } catch (e) {
            if (e instanceof TelemetryError) return false;
            throw e;
          }
        });
        const cp = new ControlPlaneMetrics({ isLeader: () => true, mapVersion: () => 3 });
        const exporter = new TelemetryExporter(
          engineTreeReader(engines.system, "/dev/shm"),
          () => cp.render(),
          (m) => console.error(`bench exporter: ${m}`),
        );
        for (let i = 0; i < n; i++) exporter.addSource(i, i);
        metrics = await serveTelemetry(exporter, "127.0.0.1", 0);
        const metricsUrl = `http://${metrics.address}/metrics`;
        const body = await (await fetch(metricsUrl)).text();
        for (let i = 0; i < n; i++) {
          if (!body.includes(`engine_drpc_mgmt_ping_rank_calls{rank="${i}"}`)) {
            throw new Error(`bench: rank ${i}'s dRPC metrics missing from /metrics:\n${body}`);
          }
        }
        const page = new TextEncoder().encode(body);
        let onListen: (a: Deno.NetAddr) => void = () => {};
        const listening = new Promise<Deno.NetAddr>((r) => onListen = r);
        const statik = Deno.serve(
          { hostname: "127.0.0.1", port: 0, onListen },
          () =>
            new Response(page, {
              headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
            }),
        );
        const a = await listening;
        s = {
          engines,
          exporter,
          metrics,
          statik,
          metricsUrl,
          staticUrl: `http://127.0.0.1:${a.port}/metrics`,
          bytes: page.length,
        };
        console.error(`telemetry-scrape-${n}: /metrics is ${page.length} bytes`);
      } catch (e) {
        await metrics?.close();
        await engines.close();
        throw e;
      }
    },
    run: async () => {
      const t = await (await fetch(s!.metricsUrl)).text();
      if (t.length < s!.bytes / 2) throw new Error(`/metrics shrank to ${t.length} bytes`);
    },
    floor: async () => {
      const t = await (await fetch(s!.staticUrl)).text();
      if (t.length !== s!.bytes) throw new Error("static page size changed");
    },
    teardown: async () => {
      if (s === null) return;
      try {
        // The raw tree read (FFI + JSON decode, every engine) inside each scrape.
        const samples: number[] = [];
        for (let k = 0; k < 50; k++) {
          const t0 = performance.now();
          for (let i = 0; i < n; i++) readEngineMetrics(s.engines.system, i);
          samples.push((performance.now() - t0) * 1000);
        }
        samples.sort((a, b) => a - b);
        console.error(
          `telemetry-scrape-${n}: raw tree read of ${n} engines p50 ` +
            `${samples[25].toFixed(0)} µs, p99 ${samples[49].toFixed(0)} µs`,
        );
      } finally {
        await s.metrics.close();
        await s.statik.shutdown();
        await s.engines.close();
        closeTelemetryReader();
        s = null;
      }
    },
  });
}

let cost: Engines | null = null;
registerScenario({
  name: "telemetry-drpc-cost",
  description: "PingRank round trip to an engine with telemetry vs one with DAOS_TM_DISABLE=1",
  setup: async () => {
    cost = await Engines.start(2, [{}, { DAOS_TM_DISABLE: "1" }]);
    try {
      readEngineMetrics(cost.system, 0);
      let off = false;
      try {
        readEngineMetrics(cost.system, 1);
      } catch (e) {
        off = e instanceof TelemetryError && e.kind === "not_running";
      }
      if (!off) throw new Error("bench: the DAOS_TM_DISABLE=1 engine has a telemetry tree");
    } catch (e) {
      await cost.close();
      cost = null;
      throw e;
    }
  },
  run: () => cost!.ping(0),
  floor: () => cost!.ping(1),
  teardown: async () => {
    try {
      if (cost) {
        const m = readEngineMetrics(cost.system, 0).metrics.find((x) =>
          x.path === "drpc/mgmt/ping_rank/calls"
        );
        console.error(
          `telemetry-drpc-cost: telemetry engine counted ${
            m && m.type !== "duration" ? m.value : "no"
          } PingRank calls`,
        );
      }
    } finally {
      await cost?.close();
      cost = null;
      closeTelemetryReader();
    }
  },
});

interface FollowSetup {
  sim: Simulation;
  pool: TransportPool;
  follower: Deno.ChildProcess;
  lines: string[];
  waiters: Map<string, () => void>;
}
let f: FollowSetup | null = null;
let marker = 0;

/** Sends a RAS event with a unique message to the MS; resolves when the follower prints it. */
async function sendAndSee(fs: FollowSetup): Promise<void> {
  const msg = `bench marker ${Deno.pid}-${++marker}`;
  const seen = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      fs.waiters.delete(msg);
      reject(new Error(`"${msg}" not printed by dmg system events --follow within 10 s`));
    }, 10_000);
    fs.waiters.set(msg, () => {
      clearTimeout(t);
      resolve();
    });
  });
  const client = createClient(MgmtSvc, fs.pool.get(fs.sim.ready.hosts[0]));
  await client.clusterEvent(
    create(ClusterEventReqSchema, {
      sequence: BigInt(marker),
      event: create(RASEventSchema, {
        id: 1,
        msg,
        timestamp: new Date().toISOString(),
        type: 0,
        severity: 1,
        hostname: "bench",
        rank: 0,
      }),
    }),
    opts,
  );
  await seen;
}

registerScenario({
  name: "events-follow",
  description: "ClusterEvent → its line on `dmg -j system events --follow` stdout vs a unary " +
    "SystemGetEvents round trip (6-rank simulated system)",
  setup: async () => {
    const sim = await Simulation.start(3, 2);
    let follower: Deno.ChildProcess | null = null;
    try {
      await sim.dmg(["storage", "format"], 300_000);
      await sim.waitState("joined", 6);
      follower = new Deno.Command(DMG, {
        args: ["-o", sim.dmgConfig, "-j", "system", "events", "--follow", "--tail", "0"],
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const fs: FollowSetup = {
        sim,
        pool: new TransportPool({ security: { allowInsecure: true } }),
        follower,
        lines: [],
        waiters: new Map(),
      };
      (async () => {
        let buf = "";
        for await (const chunk of follower!.stdout.pipeThrough(new TextDecoderStream())) {
          buf += chunk;
          let nl;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            for (const [m, done] of fs.waiters) {
              if (line.includes(`"${m}"`)) {
                fs.waiters.delete(m);
                done();
              }
            }
          }
        }
      })().catch(() => undefined);
      f = fs;
      // The follower connects in its own time: the first marker waits for that.
      await sendAndSee(fs);
    } catch (e) {
      try {
        follower?.kill("SIGKILL");
        await follower?.status;
      } catch { /* exited */ }
      f = null;
      await sim.close();
      throw e;
    }
  },
  run: () => sendAndSee(f!),
  floor: async () => {
    const client = createClient(MgmtSvc, f!.pool.get(f!.sim.ready.hosts[0]));
    const r = await client.systemGetEvents(
      create(SystemGetEventsReqSchema, { sys: "daos_server", limit: 1 }),
      opts,
    );
    if (r.events.length !== 1) throw new Error("SystemGetEvents: no event");
  },
  teardown: async () => {
    if (f === null) return;
    try {
      f.follower.kill("SIGTERM");
      await f.follower.status;
    } catch {
      /* exited */
    } finally {
      await f.sim.close();
      f = null;
    }
  },
});
