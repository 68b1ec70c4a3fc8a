/**
 * `dmg-latency-version` / `dmg-latency-network-scan`: bin/dmg end to end (a new process each
 * time, as an admin runs it) vs `deno run` of an empty program, the floor of any Deno CLI,
 * in the same run. network scan goes to one real daos_server (a simulated host of
 * tests/bench/scale, no engine started) with `-i -l <host:port>`, no config file.
 */
import { registerScenario } from "../scenario.ts";
import { emptyDenoRun, makeEmptyProgram } from "../scale/floor.ts";
import { dmgOk, Simulation } from "../scale/sim_client.ts";

let emptyFile = "";

registerScenario({
  name: "dmg-latency-version",
  description: "bin/dmg version vs deno run of an empty program",
  setup: async () => {
    emptyFile = await makeEmptyProgram();
  },
  run: async () => {
    const r = await dmgOk(["version"]);
    if (!r.stdout.includes("DAOS Admin Tool")) throw new Error(`dmg version: ${r.stdout}`);
  },
  floor: () => emptyDenoRun(emptyFile),
  teardown: async () => {
    await Deno.remove(emptyFile).catch(() => {});
  },
});

let sim: Simulation | null = null;
let scanFile = "";

registerScenario({
  name: "dmg-latency-network-scan",
  description: "bin/dmg -i -l <one server> network scan vs deno run of an empty program",
  setup: async () => {
    scanFile = await makeEmptyProgram();
    try {
      sim = await Simulation.start(1, 1);
    } catch (e) {
      // No teardown after a failed setup: remove the file here.
      await Deno.remove(scanFile).catch(() => {});
      throw e;
    }
  },
  run: async () => {
    const host = sim!.ready.hosts[0];
    const r = await dmgOk(["-i", "-l", host, "network", "scan"]);
    if (!r.stdout.includes(host.split(":")[0])) throw new Error(`network scan: ${r.stdout}`);
  },
  floor: () => emptyDenoRun(scanFile),
  teardown: async () => {
    try {
      await sim?.close();
    } finally {
      sim = null;
      await Deno.remove(scanFile).catch(() => {});
    }
  },
});

let cfgFile = "";
const top = new URL("../../../", import.meta.url).pathname;

registerScenario({
  name: "dmg-latency-floor-config",
  description: "deno run of an empty program with bin/dmg's flags and deno.json vs without",
  setup: async () => {
    cfgFile = await makeEmptyProgram();
  },
  run: async () => {
    // The same flags as bin/dmg: what the config and import map cost before dmg's own code.
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        "--config",
        `${top}deno.json`,
        "--allow-read",
        "--allow-write",
        "--allow-net",
        "--allow-env",
        "--allow-sys=hostname,osRelease,uid,gid",
        cfgFile,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    if (!out.success) throw new Error(`deno run --config deno.json exited ${out.code}`);
  },
  floor: () => emptyDenoRun(cfgFile),
  teardown: async () => {
    await Deno.remove(cfgFile).catch(() => {});
  },
});
