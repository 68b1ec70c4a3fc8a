/** Mount table queries (/proc/self/mountinfo) and tmpfs mount/unmount via mount(8). */
import { scmFault } from "../lib/fault.ts";
import { runTool } from "./command.ts";
import { entryPathOf } from "./real_path.ts";

/** One mounted filesystem. */
export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
  /** Per-mount and superblock options merged, e.g. ["rw", "noatime", "size=4194304k"]. */
  options: string[];
  /** The filesystem's device as `major:minor` ("" when unknown). */
  dev?: string;
}

// mountinfo escapes space, tab, newline and backslash as octal.
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses /proc/self/mountinfo text. */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const [pre, post] = line.split(" - ");
    if (post === undefined) continue;
    const a = pre.split(" ");
    const b = post.split(" ");
    out.push({
      mountPoint: unescape(a[4]),
      fsType: b[0],
      source: unescape(b[1] ?? ""),
      options: [...(a[5] ?? "").split(","), ...(b[2] ?? "").split(",")].filter((o) => o !== ""),
      dev: a[2] ?? "",
    });
  }
  return out;
}

function clean(path: string): string {
  const p = path.replace(/\/+$/, "");
  return p === "" ? "/" : p;
}

/** Every mount of this process's namespace, in mount order. */
export async function allMounts(): Promise<MountEntry[]> {
  return parseMountInfo(await Deno.readTextFile("/proc/self/mountinfo"));
}

/**
 * The topmost mount exactly at `path`, or null when `path` is not a mount point. A symlinked
 * parent is resolved (the table holds resolved paths); a symlink at `path` itself is not.
 */
export async function findMount(path: string): Promise<MountEntry | null> {
  const all = parseMountInfo(await Deno.readTextFile("/proc/self/mountinfo"));
  const want = await entryPathOf(clean(path));
  const hits = all.filter((m) => m.mountPoint === want);
  return hits.length > 0 ? hits[hits.length - 1] : null;
}

/** Size in bytes of a tmpfs from its `size=` option (kernel reports it in KiB with a `k`). */
export function tmpfsSizeBytes(m: MountEntry): number | null {
  const o = m.options.find((x) => x.startsWith("size="));
  if (!o) return null;
  const v = /^size=(\d+)([kmg]?)$/i.exec(o);
  if (!v) return null;
  const mul =
    { "": 1, k: 1024, m: 1 << 20, g: 1 << 30 }[v[2].toLowerCase() as "" | "k" | "m" | "g"];
  return Number(v[1]) * mul;
}

const scmToolFault = (description: string) =>
  scmFault(
    "ScmUnknown",
    description,
    "check that daos_server runs as root and the mount point is not busy",
  );

/**
 * Source name of the tmpfs mounts daos_server makes: the signature by which format knows a
 * mount is its own (a tmpfs someone else mounted is named "tmpfs" or anything else).
 */
export const SCM_TMPFS_SOURCE = "daos_scm";

/** Mounts a tmpfs at `path` with the given options (noatime always added, MS_NOATIME). */
export async function mountTmpfs(path: string, options: string[]): Promise<void> {
  await runTool(
    "mount",
    ["-t", "tmpfs", "-o", ["noatime", ...options].join(","), SCM_TMPFS_SOURCE, path],
    scmToolFault,
  );
}

/** Unmounts the topmost mount at `path` once. */
export async function unmountOnce(path: string): Promise<void> {
  await runTool("umount", [clean(path)], scmToolFault);
}

/** Unmounts `path` if it is a mount point (repeats for stacked mounts, bounded). */
export async function unmountIfMounted(path: string): Promise<void> {
  for (let i = 0; i < 8 && (await findMount(path)) !== null; i++) {
    await runTool("umount", [clean(path)], scmToolFault);
  }
}
