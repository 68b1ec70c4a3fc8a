/**
 * `scale-256` / `scale-1024`: a system of N ranks = N/2 simulated hosts × 2 engines, all
 * daos_servers real (startDaosServer) in one process (tests/bench/scale/sim_hosts.ts), the MS
 * with real etcd on host 0, engines real processes of the light stand-in (the real
 * libdaos_engine.so under a C main). Setup times the phases once: `dmg storage format`
 * (real flow, one tmpfs per engine in a private mount namespace), format start → all Joined,
 * then CYCLES × (`dmg system stop` → all Stopped, `dmg system start` → all Joined). They are
 * printed at teardown and written to bench-results/scale-N-phases-<time>.json.
 * run = `dmg -j system query` (a bin/dmg process) answering N joined members; floor = `deno
 * run` of an empty file.
 */
import { registerScenario } from "../scenario.ts";
import { median } from "../stats.ts";
import { emptyDenoRun, makeEmptyProgram } from "../scale/floor.ts";
import { type SimMemory, Simulation } from "../scale/sim_client.ts";

const CYCLES = 2;
const ENGINES = 2;

/** Phase times of one size, in ms. */
interface Phases {
  ranks: number;
  hosts: number;
  /** Simulator start-up until every server listened. */
  serversListenMs: number;
  formatDmgMs: number;
  formatToJoinedMs: number;
  stopDmgMs: number[];
  stopToStoppedMs: number[];
  startDmgMs: number[];
  startToJoinedMs: number[];
  /** SystemQuery over the control API client (warm, in the bench process): p50 of 10. */
  queryApiP50Ms: number;
  /** Simulator CPU seconds used per phase. */
  cpuSec: Record<string, number>;
  memoryJoined: SimMemory | null;
  memoryEnd: SimMemory | null;
}

function ms(v: number): string {
  return `${(v / 1000).toFixed(2)} s`;
}

function memText(m: SimMemory | null): string {
  if (m === null) return "n/a";
  return `simulator RSS ${m.simRss.toFixed(0)} MiB (peak ${m.simPeak.toFixed(0)}), ` +
    `${m.engines} engines ${m.enginesRss.toFixed(0)} MiB, etcd ${m.etcdRss.toFixed(0)} MiB`;
}

function summary(p: Phases): string {
  const list = (v: number[]) => v.map(ms).join(", ");
  return [
    `scale-${p.ranks}: ${p.hosts} hosts x ${ENGINES} engines, servers listening after ${
      ms(p.serversListenMs)
    }`,
    `  dmg storage format: ${ms(p.formatDmgMs)}; format start → ${p.ranks} Joined: ${
      ms(p.formatToJoinedMs)
    }`,
    `  dmg system stop: ${list(p.stopDmgMs)}; from stop → all Stopped: ${list(p.stopToStoppedMs)}`,
    `  dmg system start: ${list(p.startDmgMs)}; from start → all Joined: ${
      list(p.startToJoinedMs)
    }`,
    `  SystemQuery over the API client (warm) p50: ${p.queryApiP50Ms.toFixed(1)} ms`,
    `  simulator CPU seconds: ${JSON.stringify(p.cpuSec)}`,
    `  memory when joined: ${memText(p.memoryJoined)}`,
    `  memory at the end: ${memText(p.memoryEnd)}`,
  ].join("\n");
}

for (const ranks of [256, 1024]) {
  const hosts = ranks / ENGINES;
  let sim: Simulation | null = null;
  let phases: Phases | null = null;
  let emptyFile = "";
  registerScenario({
    name: `scale-${ranks}`,
    description: `${hosts} simulated hosts x ${ENGINES} engines: dmg system query (${ranks} ` +
      "members) vs deno run of an empty file; phases (format, join, stop, start) at teardown",
    setup: async () => {
      emptyFile = await makeEmptyProgram();
      sim = await Simulation.start(hosts, ENGINES);
      const s = sim;
      const p: Phases = {
        ranks,
        hosts,
        serversListenMs: s.ready.startSec * 1000,
        formatDmgMs: 0,
        formatToJoinedMs: 0,
        stopDmgMs: [],
        stopToStoppedMs: [],
        startDmgMs: [],
        startToJoinedMs: [],
        queryApiP50Ms: 0,
        cpuSec: {},
        memoryJoined: null,
        memoryEnd: null,
      };
      let cpu = await s.cpuSec();
      const cpuPhase = async (name: string) => {
        const now = await s.cpuSec();
        p.cpuSec[name] = Number(((p.cpuSec[name] ?? 0) + now - cpu).toFixed(2));
        cpu = now;
      };
      phases = p;
      try {
        const t0 = performance.now();
        p.formatDmgMs = (await s.dmg(["storage", "format"], 300_000)).ms;
        await s.waitState("joined", ranks);
        p.formatToJoinedMs = performance.now() - t0;
        await cpuPhase("formatToJoined");
        p.memoryJoined = await s.memory();
        const api: number[] = [];
        for (let i = 0; i < 10; i++) {
          const t = performance.now();
          const st = await s.states();
          api.push(performance.now() - t);
          if (st.get("joined") !== ranks) throw new Error(`API query: not all ${ranks} joined`);
        }
        p.queryApiP50Ms = median(api);
        for (let c = 0; c < CYCLES; c++) {
          const t1 = performance.now();
          p.stopDmgMs.push((await s.dmg(["system", "stop"], 300_000)).ms);
          await s.waitState("stopped", ranks);
          p.stopToStoppedMs.push(performance.now() - t1);
          await cpuPhase("stop");
          const t2 = performance.now();
          p.startDmgMs.push((await s.dmg(["system", "start"], 300_000)).ms);
          await s.waitState("joined", ranks);
          p.startToJoinedMs.push(performance.now() - t2);
          await cpuPhase("start");
        }
      } catch (e) {
        // The servers' own errors say why (engines not starting, MS unreachable, …).
        const why = e instanceof Error ? e.message : String(e);
        const errors = await s.errorLines();
        // The runner does not tear down after a failed setup: clean up here.
        await s.close();
        sim = null;
        phases = null;
        await Deno.remove(emptyFile).catch(() => {});
        throw new Error(`${why}\nsimulated servers' last errors:\n${errors}`);
      }
    },
    run: async () => {
      const r = await sim!.dmg(["-j", "system", "query"]);
      const members = (JSON.parse(r.stdout).response?.members ?? []) as { state: string }[];
      const joined = members.filter((m) => m.state === "joined").length;
      if (joined !== ranks) throw new Error(`system query: ${joined} of ${ranks} ranks joined`);
    },
    floor: () => emptyDenoRun(emptyFile),
    teardown: async () => {
      try {
        if (sim && phases) phases.memoryEnd = await sim.memory();
      } finally {
        await sim?.close();
        sim = null;
        if (emptyFile) await Deno.remove(emptyFile).catch(() => {});
      }
      if (phases) {
        console.log(summary(phases));
        const stamp = new Date().toISOString().replace(/[:.]/g, "-");
        await Deno.mkdir("bench-results", { recursive: true });
        const file = `bench-results/scale-${ranks}-phases-${stamp}.json`;
        await Deno.writeTextFile(file, JSON.stringify(phases, null, 2) + "\n");
        console.error(`scale-${ranks}: wrote ${file}`);
        phases = null;
      }
    },
  });
}
