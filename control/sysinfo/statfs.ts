/**
 * File-system usage of a mount point (total/available bytes) and whether a path is a mount of
 * a given type. Deno has no statfs(2), so usage comes from `stat -f` (coreutils) and mounts
 * from /proc/self/mountinfo.
 */

/** Usage of the file system holding a path. */
export interface FsUsage {
  totalBytes: number;
  availBytes: number;
}

/** Runs `stat -f` on `path`; throws naming the path when it does not exist. */
export async function statfs(path: string): Promise<FsUsage> {
  const out = await new Deno.Command("stat", {
    args: ["-f", "-c", "%S %b %a", "--", path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const msg = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`statfs ${path}: ${msg || "stat failed"}`);
  }
  const [bsize, blocks, avail] = new TextDecoder().decode(out.stdout).trim().split(/\s+/).map(
    Number,
  );
  return { totalBytes: bsize * blocks, availBytes: bsize * avail };
}

/** One line of /proc/self/mountinfo, reduced to what we use. */
export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
}

// mountinfo escapes space, tab, newline and backslash as octal.
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** Parses /proc/self/mountinfo text (see proc(5)). */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const right = line.slice(sep + 3).split(" ");
    if (left.length < 5 || right.length < 2) continue;
    out.push({
      mountPoint: unescapeMount(left[4]),
      fsType: right[0],
      source: unescapeMount(right[1]),
    });
  }
  return out;
}

/** The mount at exactly `path` (the last one, as later mounts hide earlier ones), if any. */
export async function findMount(
  path: string,
  mountinfo = "/proc/self/mountinfo",
): Promise<MountEntry | undefined> {
  const entries = parseMountinfo(await Deno.readTextFile(mountinfo));
  const clean = path.length > 1 ? path.replace(/\/+$/, "") : path;
  return entries.filter((e) => e.mountPoint === clean).at(-1);
}
