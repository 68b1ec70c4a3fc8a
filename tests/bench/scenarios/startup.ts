/**
 * dmg start-up (issue 14 item 4), each run a new bin/dmg process as an admin's script starts
 * it, against `deno run` of an empty file in the same run (the floor of any Deno CLI):
 * - `startup-version`, `startup-help`: targets ≤ 3x the floor (answered from the cached
 *   command tree: commander only, no Connect, protobuf or YAML);
 * - `startup-completion`: `dmg completion bash` (also from the cached tree);
 * - `startup-system-query-6`: `dmg -j system query` against a 6-rank system (3 simulated hosts
 *   x 2 engines, formatted and joined in setup): target ≤ 5x the floor.
 * `dmg -j system query` at 1024 ranks (target ≤ 150 ms end to end) is `scale-1024`.
 */
import { registerScenario } from "../scenario.ts";
import { emptyDenoRun, makeEmptyProgram } from "../scale/floor.ts";
import { dmgOk, Simulation } from "../scale/sim_client.ts";

const light: [string, string[], string][] = [
  ["startup-version", ["version"], "DAOS Admin Tool"],
  ["startup-help", ["--help"], "Commands:"],
  ["startup-completion", ["completion", "bash"], "complete -F _dmg dmg"],
];

for (const [name, args, expect] of light) {
  let emptyFile = "";
  registerScenario({
    name,
    description: `bin/dmg ${args.join(" ")} vs deno run of an empty file`,
    setup: async () => {
      emptyFile = await makeEmptyProgram();
    },
    run: async () => {
      const r = await dmgOk(args);
      if (!r.stdout.includes(expect)) throw new Error(`dmg ${args.join(" ")}: ${r.stdout}`);
    },
    floor: () => emptyDenoRun(emptyFile),
    teardown: async () => {
      if (emptyFile) await Deno.remove(emptyFile).catch(() => {});
    },
  });
}

const HOSTS = 3;
const ENGINES = 2;
let sim: Simulation | null = null;
let queryFile = "";

registerScenario({
  name: "startup-system-query-6",
  description: `bin/dmg -j system query, ${HOSTS * ENGINES} joined ranks, vs deno run of an ` +
    "empty file",
  setup: async () => {
    queryFile = await makeEmptyProgram();
    try {
      sim = await Simulation.start(HOSTS, ENGINES);
      await sim.dmg(["storage", "format"], 300_000);
      await sim.waitState("joined", HOSTS * ENGINES);
    } catch (e) {
      // The runner does not tear down after a failed setup: clean up here.
      const why = e instanceof Error ? e.message : String(e);
      const errors = sim ? await sim.errorLines() : "";
      await sim?.close();
      sim = null;
      await Deno.remove(queryFile).catch(() => {});
      throw new Error(`${why}\nsimulated servers' last errors:\n${errors}`);
    }
  },
  run: async () => {
    const r = await sim!.dmg(["-j", "system", "query"]);
    const members = (JSON.parse(r.stdout).response?.members ?? []) as { state: string }[];
    const joined = members.filter((m) => m.state === "joined").length;
    if (joined !== HOSTS * ENGINES) {
      throw new Error(`system query: ${joined} of ${HOSTS * ENGINES} ranks joined`);
    }
  },
  floor: () => emptyDenoRun(queryFile),
  teardown: async () => {
    try {
      await sim?.close();
    } finally {
      sim = null;
      if (queryFile) await Deno.remove(queryFile).catch(() => {});
    }
  },
});
