/**
 * `dmg completion bash|zsh`: the scripts generated from the command tree are loaded in the
 * shells and asked to complete words at every level (command, sub-command through an alias,
 * flag, a rank value left free, a file after a path flag).
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { Command } from "commander";
import { completionScript } from "./completion.ts";
import { buildProgram } from "./main.ts";
import { runDmg } from "./testing/dmg_harness.ts";
import { MockInvoker } from "../control/lib/control/mock_invoker.ts";

const tree = () => buildProgram(() => () => Promise.resolve());

/** What bash completes for the command line `words` (the last word being completed). */
async function bashComplete(script: string, words: string[], cwd?: string): Promise<string[]> {
  const arr = words.map((w) => `'${w}'`).join(" ");
  const prog = `${script}\nCOMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; _dmg; ` +
    `printf '%s\\n' "\${COMPREPLY[@]}"`;
  const out = await new Deno.Command("bash", { args: ["-c", prog], cwd, stderr: "piped" })
    .output();
  const err = new TextDecoder().decode(out.stderr);
  equal(out.code, 0, `bash: ${err}`);
  equal(err, "");
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "");
}

Deno.test("completion bash: commands, sub-commands (through aliases), flags, free values", async () => {
  const script = completionScript(tree(), "bash");
  const cases: [string[], string[]][] = [
    [["dmg", ""], [
      "network",
      "storage",
      "server",
      "server-version",
      "system",
      "pool",
      "telemetry",
      "support",
      "config",
      "version",
      "completion",
    ]],
    [["dmg", "sys"], ["system"]],
    [["dmg", "pool", ""], [
      "create",
      "list",
      "destroy",
      "get-prop",
      "set-prop",
      "query",
      "query-targets",
      "exclude",
      "drain",
      "reintegrate",
      "extend",
    ]],
    // Global flags are offered after the sub-command too.
    [["dmg", "pool", "create", "--t"], ["--tier-ratio", "--timeout"]],
    [["dmg", "pool", "create", "--m"], ["--meta-size", "--mem-ratio"]],
    [["dmg", "pool", "ls", "--r"], ["--rebuild-only"]],
    [["dmg", "sys", "list"], ["list-pools"]],
    [["dmg", "pool", "drain", "--r"], ["--ranks"]],
    [["dmg", "pool", "query", "--h"], ["--health-only", "--help"]],
    [["dmg", "pool", "destroy", "--r"], ["--recursive"]],
    [["dmg", "sys", "q"], ["query"]],
    [["dmg", "system", "st"], ["stop", "start"]],
    [["dmg", "-j", "sto", "query", ""], ["usage", "list-devices", "list-pools", "device-health"]],
    [["dmg", "-o", "x.yml", "system", "le"], ["leader-query"]],
    [["dmg", "--j"], ["--json", "--json-logging"]],
    [["dmg", "system", "query", "--r"], ["--ranks", "--rank-hosts"]],
    // A rank list is the admin's to type.
    [["dmg", "system", "query", "--ranks", ""], []],
    [["dmg", "system", "query", "--ranks", "0-3", "--n"], ["--not-ok"]],
    // The hidden global -l is not offered.
    [["dmg", "-l"], []],
    [["dmg", "completion", ""], ["bash", "zsh"]],
    [["dmg", "bogus", ""], []],
  ];
  for (const [words, want] of cases) {
    const got = await bashComplete(script, words);
    deepEqual(got, want, `completing ${JSON.stringify(words)}: ${got}`);
  }
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/daos_control.yml`, "");
    deepEqual(await bashComplete(script, ["dmg", "-o", "daos_c"], dir), ["daos_control.yml"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("completion: a command added to the tree is completed without other changes", async () => {
  const p = tree();
  p.command("widget").alias("wi").command("create").option("--size <size>", "widget size");
  const script = completionScript(p, "bash");
  deepEqual(await bashComplete(script, ["dmg", "wi", "c"]), ["create"]);
  deepEqual(await bashComplete(script, ["dmg", "widget", "create", "--s"]), ["--size"]);
  ok(!completionScript(new Command("dmg"), "bash").includes("widget"));
});

/** Runs zsh on `script`, with completion builtins replaced by stubs that print what is offered. */
async function zshComplete(script: string, words: string[]): Promise<string> {
  const arr = words.map((w) => `'${w}'`).join(" ");
  const prog = `compdef() { :; }\ncompadd() { shift; print -r -- "$*"; }\n` +
    `_files() { print -r -- "(files)"; }\n${script}\nwords=(${arr}); CURRENT=${words.length}; _dmg`;
  const out = await new Deno.Command("zsh", { args: ["-f", "-c", prog], stderr: "piped" })
    .output();
  const err = new TextDecoder().decode(out.stderr);
  equal(err, "");
  return new TextDecoder().decode(out.stdout).trim();
}

const haveZsh = await new Deno.Command("zsh", { args: ["-c", "true"] }).output()
  .then((o) => o.success, () => false);

Deno.test({
  name: "completion zsh: the script parses and offers the same words (zsh filters by prefix)",
  // scripts/setup.sh installs zsh; without it the bash test above still runs.
  ignore: !haveZsh,
  fn: async () => {
    const script = completionScript(tree(), "zsh");
    const check = await new Deno.Command("zsh", { args: ["-n", "-c", script] }).output();
    equal(check.code, 0, new TextDecoder().decode(check.stderr));
    equal(
      await zshComplete(script, ["dmg", ""]),
      "network storage server server-version system pool telemetry support config version " +
        "completion",
    );
    equal(
      await zshComplete(script, ["dmg", "sys", ""]),
      "query stop start exclude clear-exclude erase leader-query events audit " +
        "drain reintegrate set-attr get-attr del-attr set-prop get-prop rebuild self-heal " +
        "cleanup list-pools",
    );
    equal(
      await zshComplete(script, ["dmg", "sto", "query", ""]),
      "usage list-devices list-pools device-health",
    );
    ok((await zshComplete(script, ["dmg", "system", "query", "--"])).includes("--rank-hosts"));
    equal(await zshComplete(script, ["dmg", "system", "query", "--ranks", ""]), "");
    equal(await zshComplete(script, ["dmg", "--config-path", ""]), "(files)");
  },
});

Deno.test("dmg completion: text and -j output, wrong shell refused", async () => {
  const inv = new MockInvoker();
  const bash = await runDmg(["completion", "bash"], inv);
  equal(bash.code, 0, bash.err);
  equal(bash.out, completionScript(tree(), "bash"));
  const j = await runDmg(["-j", "completion", "zsh"], inv);
  equal(j.code, 0, j.err);
  const env = JSON.parse(j.out);
  deepEqual([env.response.shell, env.response.script, env.status], [
    "zsh",
    completionScript(tree(), "zsh"),
    0,
  ]);
  const fish = await runDmg(["completion", "fish"], inv);
  deepEqual([fish.code, fish.err], [
    1,
    "ERROR: dmg: Unknown command `fish'. Please specify one command of: bash or zsh\n",
  ]);
  const none = await runDmg(["completion"], inv);
  deepEqual([none.code, none.err], [1, "ERROR: dmg: Please specify one command of: bash or zsh\n"]);
  // No server is asked.
  equal(inv.calls.length, 0);
});
