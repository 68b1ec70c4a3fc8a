/**
 * Engine telemetry → Prometheus text format (server.md §8): metric paths of an engine's
 * shared-memory tree become `engine_<path>` names (non-alphanumerics → "_", lower-cased) with
 * `rank` always as a label and the path components that identify an object (pool, container,
 * I/O size, provider, device, target, xstream, context, RPC opcode) turned into labels.
 */
import type { EngineMetric } from "../../engine-ffi/telemetry.ts";

/** A Prometheus name and its labels for one metric path. */
export interface PromName {
  name: string;
  labels: Record<string, string>;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Components `tgt_<n>`, `xs_<n>`, `ctx_<n>` name a target, xstream, fabric context.
const INDEX_LABELS: [RegExp, string][] = [
  [/^tgt_(\d+)$/, "target"],
  [/^xs_(\d+)$/, "xstream"],
  [/^ctx_(\d+)$/, "context"],
];
// net/<x>/…: <x> is a provider unless it is one of the engine's own groupings (net/uri/…).
const NET_GROUPS = new Set(["uri", "hg", "rpc", "swim"]);

/** Prometheus-safe form of a name part: non-alphanumerics → "_", lower-cased. */
export function sanitizeName(s: string): string {
  return s.replace(/[^A-Za-z0-9]/g, "_").toLowerCase();
}

/** Maps an engine metric path to its Prometheus name and labels (rank added by the caller). */
export function promName(path: string): PromName {
  const parts = path.split("/").filter((p) => p !== "");
  const labels: Record<string, string> = {};
  const kept: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    const prev = i > 0 ? parts[i - 1] : "";
    if (prev === "pool" && UUID_RE.test(p) && labels.pool === undefined) {
      labels.pool = p.toLowerCase();
      continue;
    }
    if ((prev === "cont" || prev === "container") && UUID_RE.test(p)) {
      labels.container = p.toLowerCase();
      continue;
    }
    if (i === 1 && parts[0] === "net" && !NET_GROUPS.has(p) && parts.length > 2) {
      labels.provider = p;
      continue;
    }
    // net/<provider>/op/<proto>.<rpc>/…: the RPC layer's per-opcode metrics (crt.c)
    if (i === 3 && parts[0] === "net" && prev === "op" && parts.length > 4) {
      labels.opcode = p;
      continue;
    }
    if (i === 1 && parts[0] === "nvme" && parts.length > 2) {
      labels.device = p;
      continue;
    }
    if (i === 3 && parts[0] === "io" && parts[1] === "latency" && parts.length === 4) {
      labels.size = p;
      continue;
    }
    const idx = INDEX_LABELS.find(([re]) => re.test(p));
    if (idx) {
      labels[idx[1]] = p.match(idx[0])![1];
      continue;
    }
    kept.push(p);
  }
  return { name: `engine_${sanitizeName(kept.join("_"))}`, labels };
}

/** One sample line of a family. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** A metric family: one HELP/TYPE header and its samples. */
export interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge";
  samples: Sample[];
}

/** Families keyed by name, in first-seen order; a repeated name+labels keeps its first value. */
export class FamilySet {
  readonly #fams = new Map<string, Family>();
  readonly #seen = new Set<string>();

  /** Adds a sample (a type clash with an earlier family of that name drops the sample). */
  add(name: string, type: Family["type"], help: string, labels: Record<string, string>, v: number) {
    let f = this.#fams.get(name);
    if (f === undefined) {
      f = { name, help, type, samples: [] };
      this.#fams.set(name, f);
    } else if (f.type !== type) return;
    const key = `${name}${renderLabels(labels)}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    f.samples.push({ labels, value: v });
  }

  /** The families (for tests and rendering). */
  families(): Family[] {
    return [...this.#fams.values()];
  }
}

/** Adds an engine's metrics of rank `rank` to `out` (durations as gauges with stat suffixes). */
export function addEngineMetrics(out: FamilySet, rank: number, metrics: EngineMetric[]): void {
  for (const m of metrics) {
    const { name, labels } = promName(m.path);
    const l = { rank: String(rank), ...labels };
    const help = m.desc !== "" ? m.desc : m.path;
    if (m.type === "duration") {
      // The reference exports statistics gauges as <name>_<stat>; the bare name is the last.
      out.add(name, "gauge", `${help} (last, ${m.units || "ns"})`, l, m.last);
      for (const s of ["min", "max", "mean", "stddev", "sum"] as const) {
        out.add(`${name}_${s}`, "gauge", `${help} (${s})`, l, m[s]);
      }
      out.add(`${name}_samples`, "counter", `${help} (samples)`, l, m.count);
    } else {
      out.add(name, m.type === "counter" ? "counter" : "gauge", help, l, m.value);
    }
  }
}

function escLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** `{a="x",b="y"}` (labels sorted), or "" without labels. */
export function renderLabels(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${escLabel(labels[k])}"`).join(",")}}`;
}

function fmtValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** Renders families in the Prometheus text exposition format (version 0.0.4). */
export function renderFamilies(fams: Family[]): string {
  const lines: string[] = [];
  for (const f of fams) {
    if (f.samples.length === 0) continue;
    lines.push(`# HELP ${f.name} ${escHelp(f.help)}`);
    lines.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      lines.push(`${f.name}${renderLabels(s.labels)} ${fmtValue(s.value)}`);
    }
  }
  return lines.length === 0 ? "" : lines.join("\n") + "\n";
}
