/**
 * bin/dmg: go-flags wording (dmg.md §1.3) for flag-parser errors at every depth of the
 * command tree — the program, a group, a command in a group, a command in a nested group —
 * never commander's own `error: …` text; exit 1, nothing on stdout, the -j envelope too.
 */
import { equal, match } from "node:assert/strict";
import { runDmg } from "./ctl_servers.ts";

const unknownFlag = /^ERROR: dmg: unknown flag `bogus'\n$/;

Deno.test("dmg: unknown flags, unknown commands and missing flag values at every level", async () => {
  const cases: [string[], RegExp][] = [
    // Level 1: the program.
    [["--bogus"], unknownFlag],
    [["bogus"], /^ERROR: dmg: Unknown command `bogus'\. Please specify one command of: /],
    [["-o"], /^ERROR: dmg: expected argument for flag `-o, --config-path'\n$/],
    // Level 2: a group.
    [["system", "--bogus"], unknownFlag],
    [["storage", "--bogus"], unknownFlag],
    [
      ["system", "bogus"],
      /^ERROR: dmg: Unknown command `bogus'\. Please specify one command of: .*query/,
    ],
    [["system", "qurey"], /^ERROR: dmg: Unknown command `qurey', did you mean `query'\?\n$/],
    [["system"], /^ERROR: dmg: Please specify one command of: .*query.* or stop\n$/],
    // Level 3: a command in a group.
    [["system", "query", "--bogus"], unknownFlag],
    [["system", "query", "--bogus=1"], unknownFlag],
    [["system", "query", "-Z"], /^ERROR: dmg: unknown flag `Z'\n$/],
    [["system", "query", "-r"], /^ERROR: dmg: expected argument for flag `-r, --ranks'\n$/],
    [["system", "stop", "--ranks"], /^ERROR: dmg: expected argument for flag `-r, --ranks'\n$/],
    [["network", "scan", "-p"], /^ERROR: dmg: expected argument for flag `-p, --provider'\n$/],
    [["storage", "scan", "--bogus"], unknownFlag],
    [["storage", "format", "--bogus"], unknownFlag],
    [
      ["storage", "query", "bogus"],
      /^ERROR: dmg: Unknown command `bogus'\. Please specify one command of: device-health, list-devices, list-pools or usage\n$/,
    ],
    [
      ["storage", "query"],
      /^ERROR: dmg: Please specify one command of: device-health, list-devices, list-pools or usage\n$/,
    ],
    [["server"], /^ERROR: dmg: Please specify one command of: set-logmasks\n$/],
    [["server", "set-logmasks", "--bogus"], unknownFlag],
    // -d inside set-logmasks is --streams (it needs a value), not the global --debug.
    [
      ["server", "set-logmasks", "-d"],
      /^ERROR: dmg: expected argument for flag `-d, --streams'\n$/,
    ],
    // Level 4: a command in a nested group.
    [["storage", "query", "usage", "--bogus"], unknownFlag],
    [
      ["storage", "query", "usage", "--mem-ratio"],
      /^ERROR: dmg: expected argument for flag `--mem-ratio'\n$/,
    ],
    [["storage", "query", "usage", "extra"], /^ERROR: dmg: unexpected arguments: extra\n$/],
  ];
  for (const [args, re] of cases) {
    const r = await runDmg(args);
    const what = `dmg ${args.join(" ")}: ${r.stderr}`;
    equal(r.code, 1, what);
    match(r.stderr, re, what);
    equal(r.stdout, "", what);
  }
});

Deno.test("dmg -j: a parse error deep in the tree still yields the envelope", async () => {
  for (
    const args of [["-j", "system", "query", "--bogus"], [
      "storage",
      "query",
      "usage",
      "-j",
      "--bogus",
    ]]
  ) {
    const r = await runDmg(args);
    equal(r.code, 1);
    const env = JSON.parse(r.stdout);
    equal(env.error, "unknown flag `bogus'");
    equal(env.status, -1025);
    equal(env.response, null);
    match(r.stderr, unknownFlag);
  }
});
