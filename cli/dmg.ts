/**
 * bin/dmg's entry (bundled with its chunks into build/dmg/ by scripts/build-dmg.ts). With the
 * cached command tree beside the bundle, the arguments are parsed over that tree first: help,
 * `version`, `completion` and parse errors are answered from it with commander alone. Any other command (or
 * no cache, when run from source) loads the full tree (cli/main.ts, with Connect, protobuf and
 * YAML) and runs the arguments again; nothing was written before that.
 */
import type { Command } from "commander";
import { printVersion } from "./commands/version.ts";
import { printCompletion, SHELLS } from "./completion.ts";
import { commandPath, finishProgram, type MainIO, NEED_FULL, NeedFullTree, runDmg } from "./run.ts";
import { rebuildTree, type TreeNode } from "./tree_cache.ts";

/** The cached tree written beside the bundle, or undefined (running from source). */
function cachedTree(): TreeNode | undefined {
  if (!import.meta.url.startsWith("file:") || !import.meta.url.includes("/build/dmg/")) {
    return undefined;
  }
  try {
    return JSON.parse(Deno.readTextFileSync(new URL("./tree.json", import.meta.url)));
  } catch {
    return undefined;
  }
}

/**
 * Runs dmg with `args`: from the cached `tree` when it can, else over the full tree; `io` as
 * for cli/main.ts's main (tests).
 */
export async function dmg(
  args: string[],
  tree = cachedTree(),
  io: MainIO = {},
): Promise<number> {
  if (tree) {
    // The commands answered from the cached tree: their bodies need nothing but the tree.
    const light = (c: Command) => {
      const path = commandPath(c);
      if (path === "version") return printVersion;
      const shell = SHELLS.find((s) => path === `completion ${s}`);
      return shell ? printCompletion(shell) : undefined;
    };
    const status = await runDmg(
      (run) => {
        // Only the light commands run here (admitted below); every other body stays in the
        // full tree.
        return finishProgram(rebuildTree(tree, (c) =>
          run((ctx, opts: unknown, cmd: Command) => {
            const body = light(c);
            return body ? body(ctx, opts, cmd) : Promise.reject(new NeedFullTree());
          })));
      },
      args,
      "dmg",
      io,
      (c) => light(c) !== undefined,
    );
    if (status !== NEED_FULL) return status;
  }
  const { main } = await import("./main.ts");
  return main(args, "dmg", io);
}

if (import.meta.main) Deno.exit(await dmg(Deno.args));
