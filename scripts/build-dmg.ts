/**
 * Builds what bin/dmg runs: build/dmg/dmg.js (cli/dmg.ts bundled with `deno bundle`, one chunk
 * per dynamically imported part, npm packages included) and build/dmg/tree.json (the command
 * tree cached by cli/tree_cache.ts) and build/dmg/sources (every local file the bundle was
 * made of, with deno.json, deno.lock and this script: bin/dmg rebuilds when one of them is
 * newer than build/dmg/stamp, or gone). Built into a temporary directory, then moved in
 * chunks first, entry and stamp last (see install), so a dmg started meanwhile runs the old or
 * the new build.
 * bin/dmg runs this when the build is stale; scripts/setup.sh runs it once.
 *
 * Usage: deno run -A scripts/build-dmg.ts [top]
 */
import { buildTree } from "../cli/main.ts";
import { captureTree } from "../cli/tree_cache.ts";

/**
 * commander requires node:child_process, node:fs and node:path when it loads, for executable
 * sub-commands dmg does not have; loading them costs every dmg run (node:child_process pulls
 * in the networking modules). The bundle gets them on first use instead. Applied only where
 * each require appears exactly once in one chunk (else the bundle is left as it is: slower,
 * not wrong).
 */
async function deferCommanderRequires(dir: string): Promise<void> {
  const mods = ["node:child_process", "node:fs", "node:path"];
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".js")) continue;
    const file = `${dir}/${e.name}`;
    let text = await Deno.readTextFile(file);
    if (!text.includes('var childProcess = __require("node:child_process");')) continue;
    for (const m of mods) {
      const req = `__require("${m}")`;
      if (text.split(req).length !== 2) {
        console.error(`build-dmg: ${req} not found once in ${e.name}; left as it is`);
        return;
      }
      text = text.replace(req, `new Proxy({}, { get: (_t, k) => ${req}[k] })`);
    }
    await Deno.writeTextFile(file, text);
    return;
  }
  console.error("build-dmg: commander's chunk not found; its requires are left as they are");
}

/** Files of a build that name no chunk; the stamp goes last. */
const FIXED = ["tree.json", "sources", "dmg.js", "stamp"];

/** Keeps chunks of earlier builds this long, for a dmg that started before a rebuild. */
const KEEP_OLD_MS = 10 * 60_000;

/**
 * Moves the build in `from` into `to`. Chunk names carry their content's hash: they are moved
 * first (an equal name is equal content), then tree.json, sources and dmg.js, the stamp last;
 * chunks of earlier builds stay a while, since a dmg that loaded the old dmg.js imports the
 * old main chunk a few milliseconds later.
 */
async function install(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  await Deno.chmod(to, 0o755);
  const fresh = new Set<string>();
  for await (const e of Deno.readDir(from)) fresh.add(e.name);
  for (const name of fresh) {
    if (!FIXED.includes(name)) await Deno.rename(`${from}/${name}`, `${to}/${name}`);
  }
  for (const name of FIXED) {
    if (fresh.has(name)) await Deno.rename(`${from}/${name}`, `${to}/${name}`);
    else await Deno.remove(`${to}/${name}`).catch(() => {});
  }
  const now = Date.now();
  for await (const e of Deno.readDir(to)) {
    if (fresh.has(e.name) || FIXED.includes(e.name)) continue;
    const st = await Deno.stat(`${to}/${e.name}`).catch(() => undefined);
    if (st?.mtime && now - st.mtime.getTime() > KEEP_OLD_MS) {
      await Deno.remove(`${to}/${e.name}`, { recursive: true }).catch(() => {});
    }
  }
}

const top = Deno.args[0] ?? new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const out = `${top}/build/dmg`;
await Deno.mkdir(`${top}/build`, { recursive: true });
const tmp = await Deno.makeTempDir({ dir: `${top}/build`, prefix: ".dmg-" });
try {
  // The stamp gets the time the build started: a source edited while it runs is newer.
  const started = new Date();
  // A tree that cannot be cached (cli/tree_cache.ts says why; cli/tree_cache_test.ts fails
  // on it too) leaves no tree.json: every command then runs over the full tree, slower but
  // the same.
  try {
    const tree = captureTree(buildTree((fn) => fn as never));
    await Deno.writeTextFile(`${tmp}/tree.json`, JSON.stringify(tree));
  } catch (e) {
    console.error(`build-dmg: no cached tree: ${e instanceof Error ? e.message : e}`);
  }
  const bundle = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--config",
      `${top}/deno.json`,
      "--platform",
      "deno",
      "--code-splitting",
      "--outdir",
      tmp,
      `${top}/cli/dmg.ts`,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!bundle.success) throw new Error(`deno bundle of cli/dmg.ts failed (status ${bundle.code})`);
  await deferCommanderRequires(tmp);
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", `${top}/deno.json`, `${top}/cli/dmg.ts`],
    stderr: "inherit",
  }).output();
  if (!info.success) throw new Error(`deno info of cli/dmg.ts failed (status ${info.code})`);
  const graph = JSON.parse(new TextDecoder().decode(info.stdout)) as {
    modules: { specifier: string }[];
  };
  const sources = graph.modules.map((m) => m.specifier).filter((s) => s.startsWith("file:"))
    .map((s) => decodeURIComponent(new URL(s).pathname));
  if (sources.length < 10) throw new Error(`deno info listed only ${sources.length} modules`);
  sources.push(`${top}/deno.json`, `${top}/deno.lock`, `${top}/scripts/build-dmg.ts`);
  await Deno.writeTextFile(`${tmp}/sources`, sources.join("\n") + "\n");
  await Deno.writeTextFile(`${tmp}/stamp`, started.toISOString() + "\n");
  await Deno.utime(`${tmp}/stamp`, started, started);
  await install(tmp, out);
  await Deno.remove(tmp, { recursive: true });
} catch (e) {
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  throw e;
}
