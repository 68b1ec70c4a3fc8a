/** bin/dmg processes: parse errors, help, version and the -j envelope (no server needed). */
import { equal, match, ok } from "node:assert/strict";

const top = new URL("../../", import.meta.url).pathname;

async function dmg(...args: string[]) {
  const out = await new Deno.Command(`${top}bin/dmg`, { args, stdin: "null" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("dmg: go-flags style messages for bad commands and flags, exit 1", async () => {
  const cases: [string[], RegExp][] = [
    [[], /^ERROR: dmg: Please specify one command of: .*network, .*storage.* or version\n$/],
    [["stroage"], /^ERROR: dmg: Unknown command `stroage', did you mean `storage'\?\n$/],
    [["quack"], /^ERROR: dmg: Unknown command `quack'\. Please specify one command of: /],
    [["storage"], /^ERROR: dmg: Please specify one command of: .*scan/],
    [["storage", "scan", "--rank", "1"], /^ERROR: dmg: unknown flag `rank'\n$/],
    [["network", "scan", "-x"], /^ERROR: dmg: unknown flag `x'\n$/],
    [["version", "extra"], /^ERROR: dmg: unexpected arguments: extra\n$/],
    [["-l", "h1", "version"], /^ERROR: dmg: unknown flag `l'\/`host-list'\n$/],
    [
      ["-i", "storage", "scan", "-v", "-n"],
      /^ERROR: dmg: cannot use --verbose with --nvme-health\n$/,
    ],
    [
      ["-o", "/nonexistent.yml", "storage", "scan"],
      /failed to load control configuration: cannot read \/nonexistent\.yml/,
    ],
    [["-i", "-l", "bad[5-4]", "storage", "scan"], /invalid range "5-4" \(4 < 5\)/],
  ];
  for (const [args, re] of cases) {
    const r = await dmg(...args);
    equal(r.code, 1, `dmg ${args.join(" ")}`);
    match(r.stderr, re, `dmg ${args.join(" ")}`);
  }
});

Deno.test("dmg: --help shows the command tree with aliases; version; -j envelope on errors", async () => {
  const help = await dmg("--help");
  equal(help.code, 0);
  match(help.stdout, /\n {2}storage \(sto\) +.*\n {4}scan /);
  match(help.stdout, /\n {2}network \(net\) +.*\n {4}scan /);
  const v = await dmg("version");
  equal(v.stdout, "DAOS Admin Tool version 2.9.100\n");
  const bad = await dmg("-j", "-o", "/nonexistent.yml", "storage", "scan");
  equal(bad.code, 1);
  const env = JSON.parse(bad.stdout);
  ok(env.error.startsWith("failed to load control configuration"), env.error);
  ok(env.error.includes("'/nonexistent.yml'"), `names the file: ${env.error}`);
  equal(env.status, -1025);
  equal(env.response, null);
});
