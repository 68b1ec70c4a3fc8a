/**
 * `swim`: SWIM failure detection end to end on 3 real daos_servers x 2 real engines (etcd MS,
 * default SWIM tunables). Setup measures, ROUNDS times: SIGSTOP the engines of one host → both
 * ranks Excluded in `dmg system query` (p50/max), then SIGCONT → they terminate themselves, are
 * restarted and Joined again; then a SOAK_MS soak with the machine loaded by one CPU burner
 * per core, counting false positives (a rank leaving Joined or changing incarnation, or any
 * engine log line saying SWIM held a rank dead): must be 0. The detection floor is the
 * protocol's own minimum with the tunables in force: 2 x SWIM_PING_TIMEOUT (direct + indirect
 * probe) + SWIM_SUSPECT_TIMEOUT = 11.8 s by default (a probe of the stopped rank may start up
 * to one period later). Printed at teardown.
 * run = `dmg -j system query` answering 6 joined members; floor = `deno run` of an empty file.
 */
import { type JsonMember, LocalCluster } from "../../cluster/local_cluster.ts";
import { startBurners, stopBurners } from "../../integration/cpu_burner.ts";
import { registerScenario } from "../scenario.ts";
import { emptyDenoRun, makeEmptyProgram } from "../scale/floor.ts";

const ROUNDS = 3;
const SOAK_MS = 120_000;
/** Default tunables (engine-ffi/native/src/tunables.h). */
const PING_MS = 900;
const SUSPECT_MS = 10_000;
const PERIOD_MS = 1000;

let cluster: LocalCluster | null = null;
let emptyFile = "";
const excludeMs: number[] = [];
const rejoinMs: number[] = [];
let falsePositives: string[] = [];
let soakPolls = 0;

function p50max(v: number[]): string {
  const s = [...v].sort((a, b) => a - b);
  return s.length === 0
    ? "n/a"
    : `p50 ${s[s.length >> 1].toFixed(0)} ms, max ${s[s.length - 1].toFixed(0)} ms (${s.length})`;
}

const key = (m: JsonMember) => `${m.rank} ${m.state} ${m.incarnation}`;

/** Engine log lines where SWIM held a rank dead, per log file. */
async function deadLines(c: LocalCluster): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const s of c.servers) {
    for (const e of [0, 1]) {
      const f = `${s.dir}/engine${e}.log`;
      const log = await Deno.readTextFile(f).catch(() => "");
      out.set(f, log.split("\n").filter((l) => / dead in rank \d+'s view/.test(l)).length);
    }
  }
  return out;
}

async function round(c: LocalCluster): Promise<void> {
  const host = c.server(2);
  const pids = (await c.enginePids(host.index)).filter(Boolean);
  if (pids.length !== 2) throw new Error(`expected 2 engines on ${host.addr}, got ${pids}`);
  const t0 = performance.now();
  for (const p of pids) Deno.kill(p, "SIGSTOP");
  try {
    await c.waitFor(`ranks of ${host.addr} excluded`, async () => {
      const mine = (await c.members()).filter((m) => m.addr === host.addr);
      return mine.length === 2 && mine.every((m) => m.state === "excluded");
    }, 60_000);
    excludeMs.push(performance.now() - t0);
  } finally {
    for (const p of pids) {
      try {
        Deno.kill(p, "SIGCONT");
      } catch { /* gone */ }
    }
  }
  const t1 = performance.now();
  await c.waitFor("all six joined again", async () => {
    const ms = await c.members();
    return ms.length === 6 && ms.every((m) => m.state === "joined");
  }, 120_000);
  rejoinMs.push(performance.now() - t1);
  // Let every engine install the map with the restarted ranks before the next stop.
  await new Promise((r) => setTimeout(r, 3_000));
}

async function soak(c: LocalCluster): Promise<void> {
  const before = new Map((await c.members()).map((m) => [m.rank, key(m)]));
  const logsBefore = await deadLines(c);
  const burners = startBurners();
  try {
    const end = Date.now() + SOAK_MS;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, 10_000));
      for (const m of await c.members({ timeoutMs: 60_000 })) {
        if (before.get(m.rank) !== key(m)) falsePositives.push(`rank ${m.rank}: ${key(m)}`);
      }
      soakPolls++;
    }
  } finally {
    await stopBurners(burners);
  }
  for (const [f, n] of await deadLines(c)) {
    const extra = n - (logsBefore.get(f) ?? 0);
    if (extra > 0) falsePositives.push(`${f}: ${extra} SWIM death(s) during the soak`);
  }
}

registerScenario({
  name: "swim",
  description: "SIGSTOP → Excluded by SWIM and soak false positives (setup, printed at " +
    "teardown); run = dmg system query of 6 joined ranks vs deno run of an empty file",
  setup: async () => {
    emptyFile = await makeEmptyProgram();
    falsePositives = [];
    soakPolls = 0;
    excludeMs.length = 0;
    rejoinMs.length = 0;
    // Every round restarts the same ranks: the default rate limit (one restart per rank per
    // 300 s) would defer the second round's restart.
    cluster = await LocalCluster.create({
      servers: 3,
      replicas: 1,
      engines: 2,
      extraServerYaml: "engine_auto_restart_min_delay: 1",
    });
    const c = cluster;
    await c.startAll();
    const f = await c.dmg(["storage", "format"]);
    if (f.code !== 0) throw new Error(`dmg storage format: ${f.stdout}${f.stderr}`);
    await c.waitFor("6 ranks joined", async () => (await c.joinedRanks()).length === 6, 60_000);
    await new Promise((r) => setTimeout(r, 3_000));
    for (let i = 0; i < ROUNDS; i++) await round(c);
    await soak(c);
  },
  run: async () => {
    if ((await cluster!.joinedRanks()).length !== 6) throw new Error("not all 6 ranks joined");
  },
  floor: () => emptyDenoRun(emptyFile),
  teardown: async () => {
    console.log(
      `swim: SIGSTOP → Excluded (dmg system query): ${p50max(excludeMs)}; floor ` +
        `2 x ping ${PING_MS} + suspicion ${SUSPECT_MS} = ${2 * PING_MS + SUSPECT_MS} ms ` +
        `(+ up to a period, ${PERIOD_MS} ms, before the first probe)`,
    );
    console.log(
      `swim: SIGCONT → Joined again (self-terminate, restart, join): ${p50max(rejoinMs)}`,
    );
    console.log(
      `swim: soak ${SOAK_MS / 1000} s under CPU load (${soakPolls} polls): ` +
        `${falsePositives.length} false positive(s)${
          falsePositives.length ? ": " + falsePositives.join("; ") : ""
        }`,
    );
    await cluster?.destroy();
    cluster = null;
    if (emptyFile) await Deno.remove(emptyFile).catch(() => {});
  },
});
