/**
 * bin/dmg's entry (bundled with its chunks into build/dmg/ by scripts/build-dmg.ts). With the
 * cached command tree beside the bundle, the arguments are parsed over that tree first: help,
 * `version` and parse errors are answered from it with commander alone. Any other command (or
 * no cache, when run from source) loads the full tree (cli/main.ts, with Connect, protobuf and
 * YAML) and runs the arguments again; nothing was written before that.
 */
import type { Command } from "commander";
import { printVersion } from "./commands/version.ts";
import { finishProgram, type MainIO, NEED_FULL, NeedFullTree, runDmg } from "./run.ts";
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
    let root: Command | undefined;
    const isVersion = (c: Command) => c.parent === root && c.name() === "version";
    const status = await runDmg(
      (run) => {
        // Only `version` runs here (admitted below); every other body stays in the full tree.
        root = finishProgram(
          rebuildTree(
            tree,
            (c) =>
              run((ctx) => isVersion(c) ? printVersion(ctx) : Promise.reject(new NeedFullTree())),
          ),
        );
        return root;
      },
      args,
      "dmg",
      io,
      isVersion,
    );
    if (status !== NEED_FULL) return status;
  }
  const { main } = await import("./main.ts");
  return main(args, "dmg", io);
}

if (import.meta.main) Deno.exit(await dmg(Deno.args));
