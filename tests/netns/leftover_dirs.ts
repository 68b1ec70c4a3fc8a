/**
 * Temp directories of lab tests (cluster configs, logs, bdev files) carry a marker naming the
 * owning test process, so a later run can remove those of crashed runs. Their mounts lived in
 * the lab hosts' mount namespaces and vanished with them; only files remain.
 */
import { processAlive } from "./teardown.ts";

/** Marker file name inside an owned directory. */
export const OWNER_MARKER = ".netns-lab-owner";

/** Marks `dir` as owned by this process. */
export async function markOwned(dir: string): Promise<void> {
  await Deno.writeTextFile(`${dir}/${OWNER_MARKER}`, `${Deno.pid}\n`);
}

/**
 * Removes the directories `<parent>/<prefix>*` whose marker names a process that is gone.
 * Unmarked directories (not ours) and those of live processes stay. Returns the removed paths.
 */
export async function removeLeftoverDirs(parent: string, prefix: string): Promise<string[]> {
  const removed: string[] = [];
  for await (const e of Deno.readDir(parent)) {
    if (!e.isDirectory || !e.name.startsWith(prefix)) continue;
    const dir = `${parent}/${e.name}`;
    const owner = Number(
      (await Deno.readTextFile(`${dir}/${OWNER_MARKER}`).catch(() => "")).trim(),
    );
    if (!Number.isInteger(owner) || owner <= 0 || owner === Deno.pid || processAlive(owner)) {
      continue;
    }
    await Deno.remove(dir, { recursive: true });
    removed.push(dir);
  }
  return removed;
}
