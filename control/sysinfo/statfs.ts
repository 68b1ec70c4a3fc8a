/**
 * File-system usage of a mount point (total/available bytes) and whether a path is a mount of
 * a given type. Usage comes from statfs(2) in libc through FFI (a `stat -f` process per call
 * cost ~5 ms, and format asks once per bdev directory); the error path, rare, still runs
 * `stat -f` for its message. Mounts come from /proc/self/mountinfo.
 */

/** Usage of the file system holding a path. */
export interface FsUsage {
  totalBytes: number;
  availBytes: number;
}

/** struct statfs on 64-bit Linux (glibc): eleven 8-byte words, then f_spare[4]. */
const STATFS_BYTES = 120;
const F_BAVAIL = 4; // word index
const F_BLOCKS = 2;
const F_FRSIZE = 9;

type Libc = Deno.DynamicLibrary<{
  statfs: { parameters: ["buffer", "buffer"]; result: "i32"; nonblocking: true };
}>;
let libc: Libc | null | undefined;

/** libc's statfs, opened once; null where FFI or libc is not available. */
function openLibc(): Libc | null {
  if (libc === undefined) {
    try {
      libc = Deno.dlopen("libc.so.6", {
        // nonblocking: a hung network file system must not stall the event loop.
        statfs: { parameters: ["buffer", "buffer"], result: "i32", nonblocking: true },
      });
    } catch {
      libc = null;
    }
  }
  return libc;
}

/** Usage of the file system holding `path`; throws naming the path when it does not exist. */
export async function statfs(path: string): Promise<FsUsage> {
  const lib = openLibc();
  if (lib !== null && !path.includes("\0")) {
    const buf = new BigUint64Array(STATFS_BYTES / 8);
    const cpath = new TextEncoder().encode(path + "\0");
    if (await lib.symbols.statfs(cpath, buf) === 0) {
      const frsize = Number(buf[F_FRSIZE]);
      return {
        totalBytes: frsize * Number(buf[F_BLOCKS]),
        availBytes: frsize * Number(buf[F_BAVAIL]),
      };
    }
  }
  return await statfsCommand(path);
}

/** `stat -f` on `path`: the fallback, and the source of the error message. */
async function statfsCommand(path: string): Promise<FsUsage> {
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

/** Exposed for the test comparing both sources. */
export const statfsForTest = { command: statfsCommand, usesFfi: () => openLibc() !== null };

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
