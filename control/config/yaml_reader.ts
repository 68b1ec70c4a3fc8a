/**
 * Strict, typed access to a YAML map node: every read names the key path, every wrong type or
 * unknown key becomes a located problem, never an exception.
 */
import {
  type Document,
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  type Node,
  visit,
  type YAMLMap,
} from "yaml";
import { type Problems } from "./problems.ts";
import { FaultCode } from "../lib/fault.ts";
import { controlCharIn } from "../lib/system_paths.ts";

/** Shared state of one file being read. */
export interface ReadContext {
  doc: Document;
  problems: Problems;
}

/** Start offset of a node, -1 when unknown. */
export function offsetOf(node: unknown): number {
  const r = (node as { range?: [number, number, number] } | null)?.range;
  return r ? r[0] : -1;
}

/** Follows an alias to its target (aliases are legal YAML; not expanded recursively). */
export function deref(ctx: ReadContext, node: unknown): unknown {
  if (!isAlias(node)) return node;
  // As yaml's Alias.resolve (the last anchor of that name before the alias), but from an
  // index built once: resolve() walks the whole document per alias, so `engines: [*e, *e,
  // ...]` of 100k aliases took minutes.
  const list = anchorsOf(ctx.doc).get(node.source) ?? [];
  const at = offsetOf(node);
  let lo = 0;
  let hi = list.length; // first index whose anchor is at or after the alias
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].off < at) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? list[lo - 1].node : null;
}

/** Anchored nodes by anchor name, in document order (offsets ascending). */
type AnchorIndex = Map<string, { off: number; node: Node }[]>;
const anchorIndexes = new WeakMap<Document, AnchorIndex>();

function anchorsOf(doc: Document): AnchorIndex {
  const idx = anchorIndexes.get(doc);
  if (idx) return idx;
  const built: AnchorIndex = new Map();
  visit(doc, (_key, node) => {
    if (!isNode(node) || isAlias(node) || !node.anchor) return;
    const l = built.get(node.anchor) ?? [];
    l.push({ off: offsetOf(node), node });
    built.set(node.anchor, l);
  });
  for (const l of built.values()) l.sort((a, b) => a.off - b.off);
  anchorIndexes.set(doc, built);
  return built;
}

function describe(v: unknown): string {
  if (isMap(v)) return "a map";
  if (isSeq(v)) return "a list";
  if (isScalar(v)) return JSON.stringify(v.value);
  return String(v);
}

/** Integer bounds for `MapReader.int`. */
export interface IntBounds {
  min?: number;
  max?: number;
  code?: number;
  /** Code for values below `min` when it differs (e.g. 734 for system_ram_reserved: 0). */
  lowCode?: number;
}

/** The allowed range in words; unbounded sides (safe-integer limits) are left out. */
function rangeText(min: number, max: number): string {
  const lo = min > Number.MIN_SAFE_INTEGER;
  const hi = max < Number.MAX_SAFE_INTEGER;
  if (lo && hi) return `between ${min} and ${max}`;
  if (lo) return `at least ${min}`;
  if (hi) return `at most ${max}`;
  return "a safe integer";
}

/** Resolutions for keys removed or renamed across versions (server.md §1.12). */
const RENAMED: Record<string, string> = {
  servers: '"servers" was renamed "engines" (1.2)',
  scm_mount_path: "scm_mount_path was removed (1.2); set scm_mount in the ram/dcpm storage tier",
  fabric_ifaces: "fabric_ifaces was removed (1.2); set fabric_iface per engine",
  scm_class:
    "flat SCM keys were replaced by the storage tier list (2.0): storage: [{class: ram, ...}]",
  bdev_class:
    "flat bdev keys were replaced by the storage tier list (2.0): storage: [..., {class: file, ...}]",
  bdev_include: "bdev_include was removed (2.4); list devices in each tier's bdev_list",
  rank: "per-engine rank was removed (2.4); ranks are assigned by the management service",
  enable_vmd: "enable_vmd was replaced by disable_vmd (2.2; VMD is on by default)",
  crt_ctx_share_addr: "crt_ctx_share_addr was removed (2.6)",
};

/**
 * Keys whose values are paths (files, directories, devices, fault domain paths): a control
 * character there (NUL truncates the path in C, newlines forge log lines) is always refused.
 */
const PATH_KEYS = new Set([
  "scm_mount",
  "scm_list",
  "bdev_list",
  "bdev_exclude",
  "log_file",
  "control_log_file",
  "helper_log_file",
  "firmware_helper_log_file",
  "fault_path",
  "fault_cb",
  "socket_dir",
  "kernel_config_path",
  "client_cert_dir",
  "ca_cert",
  "cert",
  "key",
  "path",
  "device",
  "file_transfer_exec",
  "data_dir",
  "etcd_binary",
  "sock_addr",
]);

/** Reads one YAML map with key-usage tracking (unknown keys are errors). */
export class MapReader {
  private readonly used = new Set<string>();

  constructor(
    readonly ctx: ReadContext,
    readonly node: YAMLMap | null,
    /** Key path of this map for messages, e.g. `engines[0]`; "" at top level. */
    readonly where: string,
  ) {}

  /** Path of a key inside this map, for messages. */
  path(key: string): string {
    return this.where ? `${this.where}.${key}` : key;
  }

  private pair(key: string) {
    if (!this.node) return undefined;
    return this.node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
  }

  /** True if the key is present with a non-null value. */
  has(key: string): boolean {
    const v = this.raw(key);
    return v !== undefined && !(isScalar(v) && v.value === null);
  }

  /** The value node of a key (marks it used); undefined when absent. */
  raw(key: string): unknown {
    const p = this.pair(key);
    if (!p) return undefined;
    this.used.add(key);
    return deref(this.ctx, p.value ?? null);
  }

  /** Offset of a key's value (or of the key, or of this map) for messages. */
  at(key?: string): number {
    if (key !== undefined) {
      const p = this.pair(key);
      if (p) {
        const v = offsetOf(p.value);
        return v >= 0 ? v : offsetOf(p.key);
      }
    }
    return offsetOf(this.node);
  }

  /** Records a problem located at `key` (or at this map). */
  problem(key: string | undefined, code: number, message: string, resolution = ""): void {
    this.ctx.problems.add(this.at(key), code, message, resolution);
  }

  private typeError(key: string, want: string, got: unknown): void {
    this.problem(
      key,
      FaultCode.ServerBadConfig,
      `${this.path(key)}: expected ${want}, got ${describe(got)}`,
      `set ${this.path(key)} to ${want}, see the server config examples`,
    );
  }

  private scalar(key: string): { present: boolean; value: unknown; node: unknown } {
    const v = this.raw(key);
    if (v === undefined || v === null) return { present: false, value: undefined, node: v };
    if (isScalar(v)) {
      return { present: v.value !== null, value: v.value, node: v };
    }
    return { present: true, value: v, node: v };
  }

  /** Reports a control character in the path value `v` of `key`; true when there is one. */
  private badPath(key: string, v: string, offset: number, label = this.path(key)): boolean {
    if (!PATH_KEYS.has(key)) return false;
    const c = controlCharIn(v);
    if (c === null) return false;
    this.ctx.problems.add(
      offset >= 0 ? offset : this.at(key),
      FaultCode.ServerBadConfig,
      `${label}: path ${JSON.stringify(v)} contains the control character ${c}`,
      `remove the control character from ${label} (paths are plain printable text)`,
    );
    return true;
  }

  /** A string value (numbers are accepted and stringified, as YAML users expect). */
  str(key: string, def: string): string {
    const s = this.scalar(key);
    if (!s.present) return def;
    if (typeof s.value === "string") {
      return this.badPath(key, s.value, offsetOf(s.node)) ? def : s.value;
    }
    if (typeof s.value === "number" || typeof s.value === "boolean") return String(s.value);
    this.typeError(key, "a string", s.node);
    return def;
  }

  /** An integer value within bounds; out-of-range values are reported with `bounds.code`. */
  int(key: string, def: number, bounds: IntBounds = {}): number {
    const s = this.scalar(key);
    if (!s.present) return def;
    if (typeof s.value !== "number" || !Number.isInteger(s.value)) {
      this.typeError(key, "an integer", s.node);
      return def;
    }
    const min = bounds.min ?? Number.MIN_SAFE_INTEGER;
    const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(s.value) || s.value < min || s.value > max) {
      const low = s.value < min && bounds.lowCode !== undefined;
      this.problem(
        key,
        (low ? bounds.lowCode : bounds.code) ?? FaultCode.ServerBadConfig,
        `${this.path(key)}: value ${s.value} is out of range (must be ${rangeText(min, max)})`,
        `set ${this.path(key)} to an integer ${rangeText(min, max)}`,
      );
      return def;
    }
    return s.value;
  }

  /** A boolean; null when absent (tri-state keys). */
  triBool(key: string): boolean | null {
    const s = this.scalar(key);
    if (!s.present) return null;
    if (typeof s.value === "boolean") return s.value;
    this.typeError(key, "true or false", s.node);
    return null;
  }

  /** A boolean with a default. */
  bool(key: string, def: boolean): boolean {
    return this.triBool(key) ?? def;
  }

  /** The item nodes of a list value; [] when absent, null after a type error. */
  seq(key: string): unknown[] | null {
    const v = this.raw(key);
    if (v === undefined || v === null || (isScalar(v) && v.value === null)) return [];
    if (!isSeq(v)) {
      this.typeError(key, "a list", v);
      return null;
    }
    return v.items.map((i) => deref(this.ctx, i));
  }

  /** A list of strings. */
  strList(key: string): string[] {
    const items = this.seq(key) ?? [];
    const out: string[] = [];
    items.forEach((item, i) => {
      if (isScalar(item) && item.value !== null && typeof item.value !== "object") {
        const v = String(item.value);
        if (!this.badPath(key, v, offsetOf(item), `${this.path(key)}[${i}]`)) out.push(v);
      } else {
        this.ctx.problems.add(
          offsetOf(item) >= 0 ? offsetOf(item) : this.at(key),
          FaultCode.ServerBadConfig,
          `${this.path(key)}[${i}]: expected a string, got ${describe(item)}`,
          `make every entry of ${this.path(key)} a plain string`,
        );
      }
    });
    return out;
  }

  /** A list of integers. */
  intList(key: string): number[] {
    const items = this.seq(key) ?? [];
    const out: number[] = [];
    items.forEach((item, i) => {
      if (isScalar(item) && typeof item.value === "number" && Number.isSafeInteger(item.value)) {
        out.push(item.value);
      } else {
        this.ctx.problems.add(
          offsetOf(item) >= 0 ? offsetOf(item) : this.at(key),
          FaultCode.ServerBadConfig,
          `${this.path(key)}[${i}]: expected an integer, got ${describe(item)}`,
          `make every entry of ${this.path(key)} an integer`,
        );
      }
    });
    return out;
  }

  /** A nested map reader; null when absent or of the wrong type (reported). */
  map(key: string): MapReader | null {
    const v = this.raw(key);
    if (v === undefined || v === null || (isScalar(v) && v.value === null)) return null;
    if (!isMap(v)) {
      this.typeError(key, "a map", v);
      return null;
    }
    return new MapReader(this.ctx, v, this.path(key));
  }

  /** Keys present in the map (for open maps). */
  keys(): string[] {
    if (!this.node) return [];
    return this.node.items.map((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)));
  }

  /**
   * Reports every key that no read consumed (strict parsing, §1.1); `resolution` overrides
   * the generic fix (e.g. to list the keys a section knows).
   */
  finish(resolution?: (key: string) => string): void {
    if (!this.node) return;
    for (const p of this.node.items) {
      const k = isScalar(p.key) ? String(p.key.value) : String(p.key);
      if (this.used.has(k)) continue;
      this.ctx.problems.add(
        offsetOf(p.key),
        FaultCode.ServerBadConfig,
        `unknown key "${this.path(k)}": parse of "${this.ctx.problems.file}" failed; ` +
          `config contains invalid parameters and may be out of date, see server config examples`,
        RENAMED[k] ?? resolution?.(k) ??
          `remove or rename "${k}" (check its spelling and indentation)`,
      );
    }
  }
}

/** Wraps a list item as a map reader, reporting non-maps. */
export function itemMap(ctx: ReadContext, item: unknown, where: string): MapReader | null {
  if (isMap(item)) return new MapReader(ctx, item, where);
  ctx.problems.add(
    offsetOf(item),
    FaultCode.ServerBadConfig,
    `${where}: expected a map, got ${describe(item)}`,
    `write ${where} as a map of keys`,
  );
  return null;
}

/** The node type re-exported for callers that hold raw nodes. */
export type { Node };
