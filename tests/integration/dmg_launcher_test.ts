/**
 * bin/dmg runs build/dmg/dmg.js (cli/dmg.ts bundled, with the cached command tree): its output
 * is byte for byte what cli/main.ts from source prints (DMG_FROM_SOURCE=1), the build is
 * remade when a source is newer than it, and `completion bash` loads in bash.
 */
import { deepEqual, equal, ok } from "node:assert/strict";

const top = new URL("../../", import.meta.url).pathname;
const dec = new TextDecoder();

async function dmg(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(`${top}bin/dmg`, { args, env, stdin: "null" }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("bin/dmg: the bundle prints what the sources print, byte for byte", async () => {
  const cases = [
    ["version"],
    ["-j", "version"],
    ["--help"],
    ["system", "--help"],
    ["storage", "query", "usage", "-h"],
    [],
    ["stroage"],
    ["system", "query", "--bogus"],
    ["-j", "network", "scan", "-x"],
    ["version", "extra"],
    ["completion", "bash"],
    ["completion", "zsh"],
    // Past the cached tree: the full tree loads and reports the missing config file.
    ["-o", "/nonexistent.yml", "system", "query"],
    ["-j", "-o", "/nonexistent.yml", "storage", "scan"],
  ];
  for (const args of cases) {
    const bundled = await dmg(args);
    const source = await dmg(args, { DMG_FROM_SOURCE: "1" });
    deepEqual(bundled, source, `dmg ${args.join(" ")}`);
  }
  ok(Deno.statSync(`${top}build/dmg/dmg.js`).isFile, "bin/dmg did not build build/dmg/dmg.js");
});

Deno.test("bin/dmg: a source newer than the build makes bin/dmg rebuild it first", async () => {
  await dmg(["version"]);
  const before = Deno.statSync(`${top}build/dmg/stamp`).mtime!.getTime();
  // Touch (mtime only) one module of the tree, just after the build's stamp (in the past: a
  // future mtime would stay newer than the next build's stamp too): the next run rebuilds.
  const src = `${top}cli/commands/version.ts`;
  const touched = new Date(before + 1);
  Deno.utimeSync(src, touched, touched);
  const r = await dmg(["version"]);
  equal(r.code, 0, r.stderr);
  equal(r.stderr, "");
  const after = Deno.statSync(`${top}build/dmg/stamp`).mtime!.getTime();
  ok(after > touched.getTime(), `build/dmg/stamp not renewed (${before} → ${after})`);
  // And a fresh build is not remade.
  await dmg(["version"]);
  equal(Deno.statSync(`${top}build/dmg/stamp`).mtime!.getTime(), after);
});

Deno.test("bin/dmg completion bash: loads in bash and completes", async () => {
  const script = (await dmg(["completion", "bash"])).stdout;
  const prog = `${script}\nCOMP_WORDS=(dmg sys); COMP_CWORD=1; _dmg; echo "\${COMPREPLY[@]}"; ` +
    `COMP_WORDS=(dmg system q); COMP_CWORD=2; _dmg; echo "\${COMPREPLY[@]}"; ` +
    `COMP_WORDS=(dmg system query --ver); COMP_CWORD=3; _dmg; echo "\${COMPREPLY[@]}"`;
  const out = await new Deno.Command("bash", { args: ["-c", prog] }).output();
  equal(dec.decode(out.stderr), "");
  equal(dec.decode(out.stdout), "system\nquery\n--verbose\n");
});
