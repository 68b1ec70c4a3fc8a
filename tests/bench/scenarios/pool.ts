/**
 * Pool benches (issue 12 part 5) on the scale bench's simulated hosts (tests/bench/scale:
 * real daos_servers in one process, the MS with real etcd on host 0, stand-in engines = the
 * real libdaos_engine.so and its modules under a plain C main, each engine with its own tmpfs
 * SCM of a private mount namespace).
 *
 * `pool-create-destroy-N` (N = 4, 32, 64, 256 ranks = N/2 hosts × 2 engines of 1 target each):
 * run = MS PoolCreate (every joined rank, manual per-rank SCM of the PMDK minimum, no NVMe)
 * then PoolDestroy, both through the control API client; floor, same run = one collective
 * RPC over N ranks through the engines' RPC layer (bench_crt coll N: N stand-in transports,
 * tree fan-out 32, the engine's default) plus pmemobj_create/close of the same N files of the
 * same size on the same tmpfs mounts, one process per file, and their removal
 * (tests/bench/scale/pmem_floor.c). At
 * teardown: create and destroy p50 separately, the floor's parts, the system's bring-up time,
 * and for N = 4 `bin/dmg pool create`/`pool destroy` wall times; written to
 * bench-results/pool-create-destroy-N-extra-<time>.json. If N ranks cannot be brought up
 * within the budget, setup fails saying so with the measured time.
 *
 * `pool-query-list-100`: 100 pools on 4 ranks; run = `bin/dmg pool query <label>` (the next
 * label each time), `bin/dmg pool list` and `bin/dmg pool list -n` (three processes); floor =
 * three `deno run` of an empty file. Per-command p50s at teardown.
 */
import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import {
  PoolCreateReqSchema,
  PoolDestroyReqSchema,
  PoolPropertySchema,
} from "../../../proto/gen/ts/mgmt/pool_pb.ts";
import { registerScenario } from "../scenario.ts";
import { median } from "../stats.ts";
import { emptyDenoRun, makeEmptyProgram } from "../scale/floor.ts";
import { buildPmemFloor, PmemFloor } from "../scale/pmem_floor.ts";
import { Simulation } from "../scale/sim_client.ts";
import { BenchCrt, build as buildBenchCrt } from "./fabric.ts";

const ENGINES = 2;
const SYS = "daos_server";
/** Per-rank SCM: one target per stand-in engine, so the PMDK minimum pool per target. */
const SCM_PER_RANK = 8 * 1024 * 1024;
/** DAOS_PROP_PO_LABEL. */
const PROP_LABEL = 1;
/** Bring-up budget (servers listening + format + all Joined) before the bench gives up. */
const BRING_UP_BUDGET_MS = 300_000;
/** `bin/dmg pool create` samples for N = 4. */
const DMG_SAMPLES = 5;

function p50(v: number[]): number {
  return v.length === 0 ? NaN : median(v);
}

function errText(e: unknown): string {
  return e instanceof ConnectError ? e.rawMessage : e instanceof Error ? e.message : String(e);
}

/** Starts N ranks, formats them and waits for all Joined; returns the bring-up times. */
async function bringUp(
  ranks: number,
): Promise<{ sim: Simulation; listenMs: number; upMs: number }> {
  const t0 = performance.now();
  const sim = await Simulation.start(ranks / ENGINES, ENGINES);
  try {
    const left = () => Math.max(1000, BRING_UP_BUDGET_MS - (performance.now() - t0));
    await sim.dmg(["storage", "format"], left());
    await sim.waitState("joined", ranks, left());
    return { sim, listenMs: sim.ready.startSec * 1000, upMs: performance.now() - t0 };
  } catch (e) {
    const spent = ((performance.now() - t0) / 1000).toFixed(1);
    const errors = await sim.errorLines();
    await sim.close();
    throw new Error(
      `${ranks} ranks (${ranks / ENGINES} simulated hosts x ${ENGINES} engines) not up ` +
        `after ${spent} s (budget ${BRING_UP_BUDGET_MS / 1000} s on this machine): ${
          errText(e)
        }\nsimulated servers' last errors:\n${errors}`,
    );
  }
}

/** The SCM mount of every engine of the simulation (one target, so one shard file each). */
function scmDirs(sim: Simulation, ranks: number): string[] {
  const out: string[] = [];
  for (let h = 0; h < ranks / ENGINES; h++) {
    for (let e = 0; e < ENGINES; e++) out.push(`${sim.dir}/h${h}/scm${e}`);
  }
  return out;
}

/** Pool shard files `<scm>/<uuid>/vos-*` over every SCM mount, counted in the namespace. */
async function countShards(sim: Simulation, ranks: number, uuid: string): Promise<number> {
  const out = await new Deno.Command("nsenter", {
    args: [
      "-t",
      String(sim.pid),
      "-m",
      "sh",
      "-c",
      'for d in "$@"; do ls "$d/' + uuid + '" 2>/dev/null; done',
      "sh",
      ...scmDirs(sim, ranks),
    ],
    stdin: "null",
    stderr: "inherit",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => /^vos-\d+$/.test(l))
    .length;
}

/** PoolCreate over the control API client; throws unless status 0. */
async function apiCreate(
  sim: Simulation,
  label: string,
  uuid: string = crypto.randomUUID(),
): Promise<{ uuid: string; scm: number }> {
  const resp = await sim.mgmt().poolCreate(
    create(PoolCreateReqSchema, {
      sys: SYS,
      uuid,
      properties: [
        create(PoolPropertySchema, { number: PROP_LABEL, value: { case: "strval", value: label } }),
      ],
      tierBytes: [BigInt(SCM_PER_RANK), 0n],
    }),
    { timeoutMs: 600_000 },
  );
  if (resp.status !== 0) throw new Error(`PoolCreate ${label}: status ${resp.status}`);
  return { uuid, scm: Number(resp.tierBytes[0] ?? 0n) };
}

/**
 * The first PoolCreate after bring-up, retried (bounded) while it fails: fault 611 (the MS's
 * local engine joined but not yet serving dRPC) as dmg retries it; other failures logged.
 */
async function firstCreate(sim: Simulation, label: string): Promise<{ uuid: string; scm: number }> {
  const t0 = performance.now();
  let others = 0;
  for (let attempt = 0;; attempt++) {
    // A fresh uuid and label per try: a try that failed after the MS wrote its record can
    // leave it (state Creating, label taken), and a retry of the same label is then refused.
    const name = attempt === 0 ? label : `${label}-${attempt}`;
    try {
      const r = await apiCreate(sim, name);
      const waited = performance.now() - t0;
      if (waited > 100) console.error(`first PoolCreate succeeded after ${waited.toFixed(0)} ms`);
      return r;
    } catch (e) {
      // 611 is expected (dmg retries it too); anything else right after bring-up is a
      // finding: logged, and retried so the bench can still measure the steady state.
      if (!/code = 611\b/.test(errText(e))) {
        // A refusal that does not change (e.g. more ranks than the engine's collective
        // takes) must not be retried for a minute.
        if (!/not the DAOS Management Service leader/.test(errText(e)) && ++others > 5) throw e;
        console.error(`first PoolCreate ${name} failed, retrying: ${errText(e)}`);
      }
      if (performance.now() - t0 > 60_000) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** PoolDestroy over the control API client; throws unless status 0. */
async function apiDestroy(sim: Simulation, id: string): Promise<void> {
  const resp = await sim.mgmt().poolDestroy(create(PoolDestroyReqSchema, { sys: SYS, id }), {
    timeoutMs: 600_000,
  });
  if (resp.status !== 0) throw new Error(`PoolDestroy ${id}: status ${resp.status}`);
}

async function writeExtra(name: string, extra: unknown): Promise<void> {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  await Deno.mkdir("bench-results", { recursive: true });
  const file = `bench-results/${name}-extra-${stamp}.json`;
  await Deno.writeTextFile(file, JSON.stringify(extra, null, 2) + "\n");
  console.error(`${name}: wrote ${file}`);
}

// 32: the largest pool one collective message holds (POOL_CO_MAX_RANKS); 64 and 256 take the
// engine's chunked paths (one collective per 32 ranks, the map in chunks of 32 ranks).
for (const ranks of [4, 32, 64, 256]) {
  const name = `pool-create-destroy-${ranks}`;
  let sim: Simulation | null = null;
  let crt: BenchCrt | null = null;
  let pmem: PmemFloor | null = null;
  let exeDir = "";
  let seq = 0;
  let bring = { listenMs: NaN, upMs: NaN };
  const createMs: number[] = [];
  const destroyMs: number[] = [];
  const pmemCreateMs: number[] = [];
  const pmemRemoveMs: number[] = [];
  const dmgCreateMs: number[] = [];
  const dmgDestroyMs: number[] = [];
  let scmPerRank = 0;

  const closeAll = async () => {
    await crt?.close().catch(() => {});
    crt = null;
    await pmem?.close().catch(() => {});
    pmem = null;
    await sim?.close();
    sim = null;
    if (exeDir) await Deno.remove(exeDir, { recursive: true }).catch(() => {});
    exeDir = "";
  };

  registerScenario({
    name,
    description: `MS PoolCreate + PoolDestroy over ${ranks} stand-in ranks (API client) vs one ` +
      `collective RPC to ${ranks} ranks + pmemobj_create/close and unlink of the same files`,
    setup: async () => {
      createMs.length =
        destroyMs.length =
        pmemCreateMs.length =
        pmemRemoveMs.length =
          0;
      dmgCreateMs.length = dmgDestroyMs.length = 0;
      exeDir = await Deno.makeTempDir({ prefix: "bench-pool-" });
      try {
        const exe = await buildPmemFloor(exeDir);
        await buildBenchCrt();
        const up = await bringUp(ranks);
        sim = up.sim;
        bring = { listenMs: up.listenMs, upMs: up.upMs };
        console.error(
          `${name}: ${ranks} ranks up in ${(up.upMs / 1000).toFixed(1)} s (servers listening ` +
            `after ${(up.listenMs / 1000).toFixed(1)} s)`,
        );
        // A first pool proves the path works and that every rank holds its shard file,
        // so the timed runs measure real shard creation.
        const probe = await firstCreate(sim, "bench-probe");
        scmPerRank = probe.scm;
        const shards = await countShards(sim, ranks, probe.uuid);
        if (shards !== ranks) {
          throw new Error(`pool ${probe.uuid}: ${shards} shard files on ${ranks} SCM mounts`);
        }
        await apiDestroy(sim, probe.uuid);
        const left = await countShards(sim, ranks, probe.uuid);
        if (left !== 0) throw new Error(`pool ${probe.uuid}: ${left} shard files after destroy`);
        if (ranks === 4) {
          for (let i = 0; i < DMG_SAMPLES; i++) {
            const label = `bench-dmg-${i}`;
            dmgCreateMs.push((await sim.dmg(["pool", "create", "-s", "8MiB", label])).ms);
            dmgDestroyMs.push((await sim.dmg(["pool", "destroy", label])).ms);
          }
        }
        crt = new BenchCrt(["coll", String(ranks), "32"]);
        await crt.ready();
        pmem = await PmemFloor.start(exe, sim.pid, scmPerRank, scmDirs(sim, ranks));
      } catch (e) {
        await closeAll();
        throw e;
      }
    },
    run: async () => {
      const s = sim!;
      const t0 = performance.now();
      const { uuid } = await apiCreate(s, `bench-${seq++}`);
      const t1 = performance.now();
      await apiDestroy(s, uuid);
      createMs.push(t1 - t0);
      destroyMs.push(performance.now() - t1);
    },
    floor: async () => {
      await crt!.cmd("coll", 1);
      pmemCreateMs.push((await pmem!.cmd("create")) / 1000);
      pmemRemoveMs.push((await pmem!.cmd("remove")) / 1000);
    },
    teardown: async () => {
      const collMs = (crt?.inner.get("coll") ?? []).map((us) => us / 1000);
      await closeAll();
      if (createMs.length === 0) return;
      const floorMs = p50(collMs) + p50(pmemCreateMs) + p50(pmemRemoveMs);
      const extra = {
        ranks,
        hosts: ranks / ENGINES,
        scmPerRankBytes: scmPerRank,
        bringUpMs: bring.upMs,
        serversListenMs: bring.listenMs,
        createP50Ms: p50(createMs),
        destroyP50Ms: p50(destroyMs),
        floorCollectiveP50Ms: p50(collMs),
        floorPmemCreateP50Ms: p50(pmemCreateMs),
        floorPmemRemoveP50Ms: p50(pmemRemoveMs),
        createRatio: p50(createMs) / (p50(collMs) + p50(pmemCreateMs)),
        destroyRatio: p50(destroyMs) / (p50(collMs) + p50(pmemRemoveMs)),
        cycleRatio: (p50(createMs) + p50(destroyMs)) / floorMs,
        dmgPoolCreateMs: dmgCreateMs,
        dmgPoolDestroyMs: dmgDestroyMs,
      };
      const f = (v: number) => `${v.toFixed(1)} ms`;
      console.log(
        [
          `${name}: ${ranks} ranks up in ${f(bring.upMs)}, ${scmPerRank} B SCM per rank`,
          `  PoolCreate p50 ${f(extra.createP50Ms)} vs collective ${
            f(extra.floorCollectiveP50Ms)
          }` +
          ` + pmemobj create ${f(extra.floorPmemCreateP50Ms)}: ${extra.createRatio.toFixed(2)}x`,
          `  PoolDestroy p50 ${f(extra.destroyP50Ms)} vs collective ${
            f(extra.floorCollectiveP50Ms)
          } + unlink ${f(extra.floorPmemRemoveP50Ms)}: ${extra.destroyRatio.toFixed(2)}x`,
          ...(dmgCreateMs.length > 0
            ? [
              `  bin/dmg pool create p50 ${f(p50(dmgCreateMs))}, pool destroy p50 ${
                f(p50(dmgDestroyMs))
              }`,
            ]
            : []),
        ].join("\n"),
      );
      await writeExtra(name, extra);
    },
  });
}

{
  const name = "pool-query-list-100";
  const POOLS = 100;
  const RANKS = 4;
  let sim: Simulation | null = null;
  let emptyFile = "";
  let next = 0;
  const labels = Array.from({ length: POOLS }, (_, i) => `q${String(i).padStart(3, "0")}`);
  const times: Record<string, number[]> = { query: [], list: [], listN: [], floor: [] };
  const uuids = new Map<string, string>();

  const closeAll = async () => {
    await sim?.close();
    sim = null;
    if (emptyFile) await Deno.remove(emptyFile).catch(() => {});
    emptyFile = "";
  };

  registerScenario({
    name,
    description: `${POOLS} pools on ${RANKS} ranks: bin/dmg pool query <label>, pool list, ` +
      "pool list -n vs three deno runs of an empty file",
    setup: async () => {
      for (const k of Object.keys(times)) times[k] = [];
      try {
        emptyFile = await makeEmptyProgram();
        sim = (await bringUp(RANKS)).sim;
        const t0 = performance.now();
        // A probe pool first (created, then destroyed), so the fill starts on a system
        // that creates pools.
        await apiDestroy(sim, (await firstCreate(sim, "bench-probe")).uuid);
        let retried = 0;
        for (const l of labels) {
          const uuid = crypto.randomUUID();
          // Untimed fill: a create that fails is retried with the same uuid and label (the
          // create rolls back everywhere, so a retry of the same command must work); the
          // failures are reported.
          for (let attempt = 1;; attempt++) {
            try {
              await apiCreate(sim, l, uuid);
              break;
            } catch (e) {
              if (attempt === 3) throw e;
              retried++;
              console.error(`${name}: PoolCreate ${l} failed (${errText(e)}), retrying`);
            }
          }
          uuids.set(l, uuid);
        }
        if (retried > 0) console.error(`${name}: ${retried} PoolCreate retries during the fill`);
        console.error(
          `${name}: ${POOLS} pools created in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
        );
        const list = await sim.dmg(["pool", "list", "-n"]);
        const missing = labels.filter((l) => !list.stdout.includes(l));
        if (missing.length > 0) {
          throw new Error(`dmg pool list -n misses ${missing.join(", ")}:\n${list.stdout}`);
        }
      } catch (e) {
        await closeAll();
        throw e;
      }
    },
    run: async () => {
      const s = sim!;
      const label = labels[next++ % POOLS];
      const q = await s.dmg(["pool", "query", label]);
      // The reference's query text names the pool by UUID only.
      if (!q.stdout.includes(`Pool ${uuids.get(label)},`)) {
        throw new Error(`dmg pool query ${label}:\n${q.stdout}`);
      }
      const l = await s.dmg(["pool", "list"]);
      if (!l.stdout.includes(labels[POOLS - 1])) throw new Error(`dmg pool list:\n${l.stdout}`);
      const n = await s.dmg(["pool", "list", "-n"]);
      if (!n.stdout.includes(labels[POOLS - 1])) {
        throw new Error(`dmg pool list -n:\n${n.stdout}`);
      }
      times.query.push(q.ms);
      times.list.push(l.ms);
      times.listN.push(n.ms);
    },
    floor: async () => {
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        await emptyDenoRun(emptyFile);
        times.floor.push(performance.now() - t0);
      }
    },
    teardown: async () => {
      await closeAll();
      if (times.query.length === 0) return;
      const fl = p50(times.floor);
      const row = (what: string, v: number[]) =>
        `  ${what} p50 ${p50(v).toFixed(1)} ms (${(p50(v) / fl).toFixed(2)}x the floor)`;
      console.log(
        [
          `${name}: empty deno run (floor) p50 ${fl.toFixed(1)} ms`,
          row("dmg pool query <label>", times.query),
          row("dmg pool list", times.list),
          row("dmg pool list -n", times.listN),
        ].join("\n"),
      );
      await writeExtra(name, {
        pools: POOLS,
        ranks: RANKS,
        floorP50Ms: fl,
        queryP50Ms: p50(times.query),
        listP50Ms: p50(times.list),
        listNoQueryP50Ms: p50(times.listN),
      });
    },
  });
}
