/**
 * Builds what bin/dmg runs: build/dmg/dmg.js (cli/dmg.ts bundled with `deno bundle`, one chunk
 * per dynamically imported part, npm packages included) and build/dmg/tree.json (the command
 * tree cached by cli/tree_cache.ts). Built into a temporary directory that replaces build/dmg
 * in one rename, so a dmg started meanwhile runs either the old or the new build, never half.
 * bin/dmg runs this when a source is newer than build/dmg/stamp; scripts/setup.sh runs it once.
 *
 * Usage: deno run -A scripts/build-dmg.ts [top]
 */
import { buildTree } from "../cli/main.ts";
import { captureTree } from "../cli/tree_cache.ts";

const top = Deno.args[0] ?? new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const out = `${top}/build/dmg`;
await Deno.mkdir(`${top}/build`, { recursive: true });
const tmp = await Deno.makeTempDir({ dir: `${top}/build`, prefix: ".dmg-" });
try {
  const tree = captureTree(buildTree((fn) => fn as never));
  await Deno.writeTextFile(`${tmp}/tree.json`, JSON.stringify(tree));
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
  await Deno.writeTextFile(`${tmp}/stamp`, new Date().toISOString() + "\n");
  // Swap: move the old build aside, the new one in, then drop the old one.
  const old = `${tmp}.old`;
  await Deno.rename(out, old).catch(() => {});
  await Deno.rename(tmp, out);
  await Deno.remove(old, { recursive: true }).catch(() => {});
} catch (e) {
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  throw e;
}
