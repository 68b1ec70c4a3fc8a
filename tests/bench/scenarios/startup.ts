/**
 * dmg start-up (issue 14 item 4), each run a new bin/dmg process as an admin's script starts
 * it, against `deno run` of an empty file in the same run (the floor of any Deno CLI):
 * - `startup-version`, `startup-help`: targets ≤ 3x the floor (answered from the cached
 *   command tree: commander only, no Connect, protobuf or YAML);
 * - `startup-completion`: `dmg completion bash` (also from the cached tree);
 * - `startup-system-query-6`: `dmg -j system query` against a 6-rank system (3 simulated hosts
 *   x 2 engines, formatted and joined in setup): target ≤ 5x the floor.
 * - `startup-system-query-1024`: `dmg -j system query` answering 1024 members, target
 *   ≤ 150 ms end to end. 512 real daos_servers listen (the MS on host 0 with its etcd, every
 *   other host answering the MS's liveness probes). Host 0 is formatted and its two ranks
 *   stopped; the other 1022 members are recorded through the MS's real Join RPC, 2 per host,
 *   as engines would join. No other engine runs: formatting 1024 stand-in engines
 *   (`scale-1024`) takes minutes on 2 cores and adds nothing to what this measures (the dmg
 *   process, the MS's read of etcd, the reply, decoding and rendering).
 */
import { registerScenario } from "../scenario.ts";
import { emptyDenoRun, makeEmptyProgram } from "../scale/floor.ts";
import { dmgOk, Simulation } from "../scale/sim_client.ts";
import { create } from "@bufbuild/protobuf";
import { JoinReqSchema } from "../../../proto/gen/ts/mgmt/svc_pb.ts";
import { NilRank } from "../../../control/lib/rankset.ts";

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

/**
 * Registers `name`: bin/dmg -j system query against a simulation of `hosts` x 2 engines made
 * ready by `prepare`, expected to answer `members` members of which `joined` are Joined;
 * floor: deno run of an empty file.
 */
function querySystemScenario(o: {
  name: string;
  description: string;
  hosts: number;
  prepare: (sim: Simulation) => Promise<void>;
  members: number;
  joined: number;
}): void {
  let sim: Simulation | null = null;
  let file = "";
  registerScenario({
    name: o.name,
    description: o.description,
    setup: async () => {
      file = await makeEmptyProgram();
      try {
        sim = await Simulation.start(o.hosts, 2);
        await o.prepare(sim);
      } catch (e) {
        // The runner does not tear down after a failed setup: clean up here.
        const why = e instanceof Error ? e.message : String(e);
        const errors = sim ? await sim.errorLines() : "";
        await sim?.close();
        sim = null;
        await Deno.remove(file).catch(() => {});
        throw new Error(`${why}\nsimulated servers' last errors:\n${errors}`);
      }
    },
    run: async () => {
      const r = await sim!.dmg(["-j", "system", "query"]);
      const members = (JSON.parse(r.stdout).response?.members ?? []) as { state: string }[];
      const joined = members.filter((m) => m.state === "joined").length;
      if (members.length !== o.members || joined !== o.joined) {
        throw new Error(
          `system query: ${members.length} members, ${joined} joined ` +
            `(expected ${o.members}, ${o.joined})`,
        );
      }
    },
    floor: () => emptyDenoRun(file),
    teardown: async () => {
      try {
        await sim?.close();
      } finally {
        sim = null;
        if (file) await Deno.remove(file).catch(() => {});
      }
    },
  });
}

querySystemScenario({
  name: "startup-system-query-6",
  description: "bin/dmg -j system query, 6 joined ranks, vs deno run of an empty file",
  hosts: 3,
  prepare: async (sim) => {
    await sim.dmg(["storage", "format"], 300_000);
    await sim.waitState("joined", 6);
  },
  members: 6,
  joined: 6,
});

/**
 * Brings up the MS (host 0 formatted: its two engines join as ranks 0 and 1, then are stopped,
 * so no engine's SWIM probes the made-up ranks), then joins `ranks - 2` engines through
 * the MS's Join RPC, two per other simulated host.
 */
async function joinAll(sim: Simulation, ranks: number): Promise<void> {
  await sim.dmg(["-l", sim.ready.hosts[0], "storage", "format"], 120_000);
  await sim.waitState("joined", 2, 60_000);
  await sim.dmg(["system", "stop", "-r", "0-1"], 60_000);
  const ms = sim.mgmt();
  const joinOnce = (i: number) => {
    const addr = sim.ready.hosts[Math.floor(i / 2)];
    const ip = addr.split(":")[0];
    return ms.join(
      create(JoinReqSchema, {
        sys: "daos_server",
        uuid: crypto.randomUUID(),
        rank: NilRank,
        uri: `ofi+tcp://${ip}:${31416 + (i % 2)}`,
        nctxs: 1,
        addr,
        srvFaultDomain: `/${ip}`,
        idx: i % 2,
        incarnation: BigInt(1000 + i),
      }),
      { timeoutMs: 30_000 },
    );
  };
  // Engines retry a refused join (an election under way on this loaded machine): so do these.
  const join = async (i: number) => {
    for (let attempt = 1;; attempt++) {
      try {
        return await joinOnce(i);
      } catch (e) {
        if (attempt >= 20) throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  // A few at a time, as engines of many hosts join (the MS serialises the writes anyway).
  for (let i = 2; i < ranks; i += 16) {
    await Promise.all(
      Array.from({ length: Math.min(16, ranks - i) }, (_, k) => join(i + k)),
    );
  }
}

querySystemScenario({
  name: "startup-system-query-1024",
  description: "bin/dmg -j system query, 1024 ranks (1022 joined) on 512 hosts, vs deno run " +
    "of an empty file",
  hosts: 512,
  prepare: async (sim) => {
    await joinAll(sim, 1024);
    await sim.waitState("joined", 1022, 60_000);
  },
  members: 1024,
  joined: 1022,
});
