/** Paths as the kernel resolves them (symlinks, then `..`), for mount-table comparisons. */
import { normalizePath } from "../lib/system_paths.ts";

/**
 * `path` as the kernel resolves it: component by component, each symlink followed before a
 * later `..` applies (`/x/link/..` is the parent of the link's target, not `/x`); from the
 * first component that does not exist on, the rest is appended lexically.
 */
export async function realPathOf(path: string): Promise<string> {
  let cur = "/";
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] === "..") {
      cur = cur.slice(0, cur.lastIndexOf("/")) || "/";
      continue;
    }
    const next = cur === "/" ? `/${parts[i]}` : `${cur}/${parts[i]}`;
    try {
      cur = await Deno.realPath(next);
    } catch {
      return normalizePath([next, ...parts.slice(i + 1)].join("/"));
    }
  }
  return cur;
}

/**
 * The directory entry `path` names, as the mount table would show it: the parent resolved
 * with {@link realPathOf}, the last component kept (a symlink there is not followed, so a
 * mount it points to is never taken for one at `path`).
 */
export async function entryPathOf(path: string): Promise<string> {
  const n = normalizePath(path);
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  const last = parts[parts.length - 1];
  if (n === "/" || last === undefined || last === "..") return await realPathOf(path);
  const parent = await realPathOf(parts.slice(0, -1).join("/") || "/");
  return parent === "/" ? `/${last}` : `${parent}/${last}`;
}
