/** Small helpers for reading sysfs attribute files, which may be absent on virtual devices. */

/** The trimmed content of a sysfs attribute, or undefined when it does not exist. */
export async function readAttr(path: string): Promise<string | undefined> {
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw e;
  }
}

/** A sysfs attribute parsed as an integer, or undefined when absent or not a number. */
export async function readIntAttr(path: string): Promise<number | undefined> {
  const s = await readAttr(path);
  if (s === undefined) return undefined;
  const n = Number.parseInt(s, 10);
  return Number.isNaN(n) ? undefined : n;
}

/** Directory entry names, or [] when the directory does not exist. */
export async function listDir(path: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(path)) names.push(e.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return names.sort();
}

/**
 * Parses a kernel CPU/node list such as "0-3,8,10-11" into its members. Throws on a malformed
 * list, naming it.
 */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  const s = text.trim();
  if (s === "") return out;
  for (const part of s.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`invalid CPU list ${JSON.stringify(text)}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`invalid CPU list ${JSON.stringify(text)}`);
    for (let i = lo; i <= hi; i++) out.push(i);
  }
  return out;
}
