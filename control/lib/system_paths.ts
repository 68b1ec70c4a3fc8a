/**
 * Lexical rules for paths daos_server may format (scm_mount, file bdevs): system directories
 * are never storage, and paths with control characters are never accepted. Pure functions, so
 * config validation and the format flow share them.
 */

/** Trees that hold the OS: no storage path may be one of them or lie inside them. */
const SYSTEM_TREES = [
  "/bin",
  "/boot",
  "/dev",
  "/etc",
  "/lib",
  "/lib32",
  "/lib64",
  "/libx32",
  "/proc",
  "/sbin",
  "/sys",
  "/usr",
];

/** /dev/shm is a plain tmpfs where storage files may live (inside it, never it). */
const TREE_EXCEPTIONS = ["/dev/shm"];

/** Directories that may hold storage below them but must never be formatted themselves. */
const SYSTEM_DIRS = [
  "/",
  "/home",
  "/media",
  "/mnt",
  "/opt",
  "/root",
  "/run",
  "/srv",
  "/tmp",
  "/var",
  "/var/cache",
  "/var/lib",
  "/var/log",
  "/var/mail",
  "/var/run",
  "/var/spool",
  "/var/tmp",
];

/** POSIX path normalisation without touching the file system: `//`, `.` and `..` resolved. */
export function normalizePath(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return (path.startsWith("/") ? "/" : "") + out.join("/") || (path.startsWith("/") ? "/" : ".");
}

function inside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === "/" ? "/" : `${dir}/`);
}

/**
 * Why `path` (absolute) is a system path, or null. Lexical only: callers that can touch the
 * file system also check the path with its symlinks resolved.
 */
export function systemPathReason(path: string): string | null {
  const p = normalizePath(path);
  if (SYSTEM_DIRS.includes(p)) return `${p} is a system directory`;
  if (TREE_EXCEPTIONS.includes(p)) return `${p} is a system directory`;
  if (TREE_EXCEPTIONS.some((d) => inside(p, d))) return null;
  const tree = SYSTEM_TREES.find((d) => inside(p, d));
  if (tree === undefined) return null;
  return p === tree ? `${p} is a system directory` : `${p} is inside the system directory ${tree}`;
}

/** The first control character (C0, DEL, C1) of `s` as `\xNN`, or null when there is none. */
export function controlCharIn(s: string): string | null {
  // deno-lint-ignore no-control-regex
  const m = /[\u0000-\u001f\u007f-\u009f]/.exec(s);
  return m ? `\\x${m[0].charCodeAt(0).toString(16).padStart(2, "0")}` : null;
}
