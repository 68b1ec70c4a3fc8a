/**
 * The cached command tree (cli/tree_cache.ts) against the full one (cli/main.ts): the same
 * help for every command, the same output and status for parse errors and `version`, the
 * fall-back to the full tree for every other command, and clear refusals of what it cannot
 * carry.
 */
import { deepEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { Command, Option } from "commander";
import { MockInvoker } from "../control/lib/control/mock_invoker.ts";
import { dmg } from "./dmg.ts";
import { buildProgram, buildTree } from "./main.ts";
import { MemorySink } from "./output/logger.ts";
import { finishProgram, NEED_FULL, runDmg } from "./run.ts";
import { testConfig } from "./testing/dmg_harness.ts";
import { captureTree, rebuildTree, type TreeNode } from "./tree_cache.ts";

const noRun = () => () => Promise.resolve();
/** The tree as the build caches it (through JSON, as bin/dmg reads it). */
const cached = (): TreeNode => JSON.parse(JSON.stringify(captureTree(buildTree(noRun))));

function all(c: Command, path: string[] = []): [string[], Command][] {
  return [[path, c], ...c.commands.flatMap((s) => all(s, [...path, s.name()]))];
}

/** What `cmd --help` prints (help text events included). */
function helpOf(cmd: Command): string {
  let text = "";
  cmd.configureOutput({ writeOut: (t) => text += t, writeErr: (t) => text += t });
  cmd.outputHelp();
  return text;
}

Deno.test("cached tree: every command's help is the full tree's, byte for byte", () => {
  const full = all(buildProgram(noRun));
  const fromCache = all(finishProgram(rebuildTree(cached(), () => () => {})));
  assertEquals(fromCache.map(([p]) => p.join(" ")), full.map(([p]) => p.join(" ")));
  assert(full.length > 10, `only ${full.length} commands: the tree did not load`);
  for (let i = 0; i < full.length; i++) {
    const [path, cmd] = full[i];
    assertEquals(helpOf(fromCache[i][1]), helpOf(cmd), `help of "${path.join(" ")}"`);
  }
});

/** Runs `args` both ways; returns the cached run (which must equal the full one). */
async function both(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const run = async (f: (io: Parameters<typeof dmg>[2]) => Promise<number>) => {
    const out = new MemorySink();
    const err = new MemorySink();
    const inv = new MockInvoker();
    const code = await f({
      stdout: out,
      stderr: err,
      invoker: inv,
      config: testConfig(["h1:10001"]),
    });
    return { code, out: out.text, err: err.text, calls: inv.calls.length };
  };
  const tree = cached();
  const viaCache = await run((io) => dmg(args, tree, io));
  const viaFull = await run((io) => import("./main.ts").then(({ main }) => main(args, "dmg", io)));
  assertEquals(viaCache, viaFull, `dmg ${args.join(" ")}`);
  return viaCache;
}

Deno.test("cached tree: version and parse errors print what the full tree prints", async () => {
  const cases: [string[], number][] = [
    [["version"], 0],
    [["-j", "version"], 0],
    [["version", "extra"], 1],
    [["-j", "version", "extra"], 1],
    [["-l", "h1", "version"], 1],
    [[], 1],
    [["bogus"], 1],
    [["-j", "bogus"], 1],
    [["system"], 1],
    [["system", "qurey"], 1],
    [["system", "query", "--bogus"], 1],
    [["-j", "system", "query", "--ranks"], 1],
    [["storage", "format", "-x"], 1],
    [["--timeout"], 1],
    [["completion", "bash"], 0],
    [["-j", "completion", "zsh"], 0],
    [["completion", "fish"], 1],
  ];
  for (const [args, code] of cases) {
    const r = await both(args);
    assertEquals(r.code, code, `dmg ${args.join(" ")}: ${r.err}`);
  }
});

Deno.test("cached tree: other commands run over the full tree, with the same output", async () => {
  // The MockInvoker has no answers (one host, so the error names it): each command fails in
  // its own way, the same both ways.
  for (const args of [["system", "query"], ["-j", "storage", "scan"], ["network", "scan"]]) {
    const r = await both(args);
    assertEquals(r.code, 1, `dmg ${args.join(" ")}`);
  }
  // Nothing is parsed twice into output: the cached pass returns NEED_FULL having written
  // nothing.
  const out = new MemorySink();
  const tree = cached();
  const status = await runDmg(
    (run) => finishProgram(rebuildTree(tree, () => run(() => Promise.resolve()))),
    ["system", "query"],
    "dmg",
    { stdout: out, stderr: out },
    () => false,
  );
  assertEquals([status, out.text], [NEED_FULL, ""]);
  // ... while `version` is answered by the cached tree itself.
  const out2 = new MemorySink();
  const viaCache = await dmg(["-j", "version"], tree, { stdout: out2, stderr: out2 });
  const parsed = JSON.parse(out2.text);
  assertEquals([viaCache, parsed.response.name], [0, "DAOS Admin Tool"]);
});

Deno.test("cached tree: an option with its own parser sends the run to the full tree", async () => {
  const build = () => {
    const p = new Command("t");
    p.command("x").addOption(
      new Option("--n <n>").argParser((v) => {
        if (!/^\d+$/.test(v)) throw new Error(`bad --n ${v}`);
        return Number(v);
      }),
    ).action(() => {});
    return p;
  };
  const tree = captureTree(build());
  assertEquals(tree.commands[0].options[0].parseArg, true);
  const status = await runDmg(
    (run) => rebuildTree(tree, () => run(() => Promise.resolve())),
    ["x", "--n", "5"],
    "t",
    { stdout: new MemorySink(), stderr: new MemorySink() },
  );
  assertEquals(status, NEED_FULL);
});

Deno.test("cached tree: what cannot be carried fails the build naming the command", () => {
  const p = new Command("t");
  p.command("x").hook("preAction", () => {});
  throws(() => captureTree(p), (e: Error) => e.message.includes(`"t x" sets _lifeCycleHooks`));
  const q = new Command("t");
  q.command("y").on("custom", () => {});
  throws(() => captureTree(q), (e: Error) => e.message.includes(`"t y" listens to custom`));
  const r = new Command("t");
  r.command("z").addOption(new Option("--d <d>").default(new Date(0)));
  throws(
    () => captureTree(r),
    (e: Error) => e.message.includes(`"t z" has a defaultValue that is not plain data`),
  );
});

Deno.test("cached tree: help texts added with addHelpText are carried", () => {
  const p = new Command("t");
  p.command("x").description("does x").addHelpText("after", "\nExample: t x\n");
  const rebuilt = rebuildTree(JSON.parse(JSON.stringify(captureTree(p))), () => () => {});
  assertEquals(helpOf(rebuilt.commands[0]), helpOf(p.commands[0]));
  assert(helpOf(rebuilt.commands[0]).includes("Example: t x"));
});
