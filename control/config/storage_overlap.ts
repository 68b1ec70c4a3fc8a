/**
 * Storage areas that may not overlap: every scm_mount (format mounts a tmpfs over it, erase
 * unmounts it), every file bdev (format truncates it) and the control metadata area (format
 * replaces `<path>/daos_control`, or mounts its device over `<path>`). Two of them sharing a
 * path, or one lying inside another, means formatting one destroys the other: two engines on
 * one tmpfs, a bdev file hidden by a tmpfs, superblocks wiped by an SCM reformat.
 *
 * DAOS only refuses identical strings (duplicate scm_mount, overlapping bdev_list); here paths
 * are compared normalised (`//`, `.`, `..`, trailing `/`) and by nesting, and the format flow
 * compares them again with symlinks resolved.
 */
import { FaultCode } from "../lib/fault.ts";
import { normalizePath, systemPathReason } from "../lib/system_paths.ts";
import type { ServerConfig } from "./types.ts";

/** One area format may destroy, with where it is configured. */
export interface StorageArea {
  /** Engine index, or null for the host-wide control metadata. */
  engine: number | null;
  /** Storage tier of the key (0 for scm_mount), null for control_metadata. */
  tier: number | null;
  key: "scm_mount" | "bdev_list" | "control_metadata.path";
  /** The path as configured. */
  path: string;
  /** "dir" when everything below the path is the area's (a mount), "file" for one file. */
  kind: "dir" | "file";
}

/** Two areas that overlap: `b` (configured later) collides with `a`. */
export interface StorageOverlap {
  a: StorageArea;
  b: StorageArea;
  code: number;
  message: string;
  resolution: string;
}

/** The areas of `cfg` that format may destroy, in config order (control metadata first). */
export function storageAreas(cfg: ServerConfig): StorageArea[] {
  const out: StorageArea[] = [];
  const cm = cfg.controlMetadata;
  if (cm.path.startsWith("/")) {
    // Without a device only <path>/daos_control is replaced; with one, <path> is mounted over.
    const path = cm.device === "" ? `${cm.path.replace(/\/+$/, "")}/daos_control` : cm.path;
    out.push({ engine: null, tier: null, key: "control_metadata.path", path, kind: "dir" });
  }
  for (const e of cfg.engines) {
    // A system path is refused by its own rule; everything would lie inside `/`.
    const usable = (p: string) => p.startsWith("/") && systemPathReason(p) === null;
    if (e.scm?.class === "ram" && usable(e.scm.scmMount)) {
      out.push({
        engine: e.index,
        tier: e.scm.tier,
        key: "scm_mount",
        path: e.scm.scmMount,
        kind: "dir",
      });
    }
    for (const t of e.bdevs) {
      if (t.class !== "file") continue;
      for (const d of t.bdevList) {
        if (!usable(d)) continue;
        out.push({ engine: e.index, tier: t.tier, key: "bdev_list", path: d, kind: "file" });
      }
    }
  }
  return out;
}

function inside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === "/" ? "/" : `${dir}/`);
}

/** How an area is named in messages, e.g. `scm_mount "/mnt/daos0" of engine 0`. */
export function areaName(x: StorageArea): string {
  const key = x.key === "control_metadata.path" ? "control_metadata" : x.key;
  return `${key} "${x.path}"${x.engine === null ? "" : ` of engine ${x.engine}`}`;
}

function describe(a: StorageArea, b: StorageArea, pa: string, pb: string): StorageOverlap {
  // The compared form in parentheses when it differs from what is configured.
  const shown = (x: StorageArea, p: string) => x.path === p ? areaName(x) : `${areaName(x)} (${p})`;
  const same = pa === pb;
  const [A, B] = [shown(a, pa), shown(b, pb)];
  if (a.kind === "file" && b.kind === "file") {
    return {
      a,
      b,
      code: FaultCode.ServerConfigOverlappingBdevDeviceList,
      message: `${B} is the same file as ${A}; formatting one truncates the other`,
      resolution: "give every bdev_list entry its own file",
    };
  }
  const code = a.key === "bdev_list" || b.key === "bdev_list"
    ? FaultCode.ServerConfigOverlappingBdevDeviceList
    : FaultCode.ServerConfigDuplicateScmMount;
  const [outer, inner] = inside(pb, pa) ? [A, B] : [B, A];
  const what = a.key === "scm_mount" || b.key === "scm_mount"
    ? "formatting or erasing the SCM of one destroys the other"
    : "formatting the control metadata destroys it";
  return {
    a,
    b,
    code,
    message: same
      ? `${B} is the same path as ${A}; ${what}`
      : `${inner} lies inside ${outer}; ${what}`,
    resolution: "give every scm_mount, bdev file and control_metadata.path its own place, " +
      "none inside another (e.g. /mnt/daos0, /mnt/daos1, /var/daos/bdev0, /var/daos/config)",
  };
}

/**
 * Every overlap among `areas`, comparing `resolve(path)` (default: lexical normalisation; the
 * format flow passes the symlink-resolved path). One overlap per later area (config order),
 * naming an earlier area it collides with. Sorted sweep, O(n log n): a config of 1 MiB can
 * list 100k bdev files.
 */
export function storageOverlaps(
  areas: StorageArea[],
  resolve: (path: string) => string = normalizePath,
): StorageOverlap[] {
  const paths = areas.map((x) => resolve(x.path));
  // "/" as "\0": a directory sorts right before everything inside it ("/a" < "/a/b" < "/a-b").
  const keys = paths.map((p) => p.replaceAll("/", "\0"));
  const order = areas.map((_, i) => i).sort((i, j) =>
    keys[i] < keys[j] ? -1 : keys[i] > keys[j] ? 1 : i - j
  );
  const hits = new Map<number, number>(); // later area -> earlier area
  const record = (x: number, y: number) => {
    const [i, j] = x < y ? [x, y] : [y, x];
    const [a, b] = [areas[i], areas[j]];
    // The same string twice in one tier is the schema's "duplicate" problem already.
    if (a.engine === b.engine && a.tier === b.tier && a.path === b.path) return;
    const prev = hits.get(j);
    if (prev === undefined || i < prev) hits.set(j, i);
  };
  const dirs: number[] = []; // enclosing directory areas of the current position
  let same: number[] = []; // areas at the previous path
  for (const k of order) {
    const p = paths[k];
    if (same.length > 0 && paths[same[0]] === p) {
      for (const o of same) record(o, k);
    } else same = [];
    same.push(k);
    while (dirs.length > 0 && !inside(p, paths[dirs[dirs.length - 1]])) dirs.pop();
    const outer = dirs.find((d) => paths[d] !== p);
    if (outer !== undefined) record(outer, k);
    if (areas[k].kind === "dir") dirs.push(k);
  }
  return [...hits.entries()].sort((x, y) => x[0] - y[0]).map(([j, i]) =>
    describe(areas[i], areas[j], paths[i], paths[j])
  );
}
