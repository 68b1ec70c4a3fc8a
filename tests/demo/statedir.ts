/**
 * The demo's state dir: created with a marker file so the demo only ever deletes a dir it
 * made itself, and an exclusive lock so two demo commands never work on one dir at once.
 */

/** Marker file: its presence says "this dir belongs to the demo and may be removed". */
export const MARKER = ".daos-demo";
const LOCK = ".lock";

/** Why a state dir cannot be used. */
export class StateDirError extends Error {}

async function entries(dir: string): Promise<string[] | null> {
  try {
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    return names;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** True when `dir` exists and carries the demo's marker. */
export async function isDemoDir(dir: string): Promise<boolean> {
  const names = await entries(dir);
  return names !== null && names.includes(MARKER);
}

/**
 * Makes `dir` a demo state dir: creates it (or adopts it when empty) and writes the marker.
 * A non-empty dir without the marker is refused: it holds someone else's files.
 */
export async function claimStateDir(dir: string): Promise<void> {
  const names = await entries(dir);
  if (names !== null && names.length > 0 && !names.includes(MARKER)) {
    throw new StateDirError(
      `state dir ${dir} exists, is not empty and was not made by the demo; ` +
        `choose another one with --state-dir or DAOS_DEMO_DIR`,
    );
  }
  await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
  await Deno.writeTextFile(`${dir}/${MARKER}`, "made by tests/demo; removed by `demo down`\n");
}

/**
 * Takes the exclusive lock of a demo dir (waits for another demo command holding it).
 * Release with `close()`; it is also released when the process exits.
 */
export async function lockStateDir(dir: string): Promise<Deno.FsFile> {
  const f = await Deno.open(`${dir}/${LOCK}`, { create: true, write: true });
  try {
    await f.lock(true);
  } catch (e) {
    f.close();
    throw e;
  }
  return f;
}
