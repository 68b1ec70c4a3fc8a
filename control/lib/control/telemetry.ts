/**
 * Client side of a server's telemetry exporter (as the reference's lib/control/telemetry.go):
 * scrapes http://<host>:<port>/metrics and parses the Prometheus text format into metric sets,
 * for `dmg telemetry metrics list|query`; and the Prometheus scrape configuration for a
 * system's hosts (`dmg telemetry config`).
 */

/** Conventional exporter port of daos_server (server.md §8). */
export const DEFAULT_TELEMETRY_PORT = 9191;

/** Kind of a metric set, as its `# TYPE` line says. */
export type MetricKind = "counter" | "gauge" | "histogram" | "summary" | "untyped";

/** One sample of a set (histogram/summary samples keep their suffix in `name`). */
export interface MetricSample {
  /** The sample's own name (differs from the set's for _bucket, _sum, _count). */
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A metric family. */
export interface MetricSet {
  name: string;
  description: string;
  type: MetricKind;
  metrics: MetricSample[];
}

const KINDS = new Set<MetricKind>(["counter", "gauge", "histogram", "summary", "untyped"]);

function unescape(s: string): string {
  return s.replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));
}

function parseLabels(text: string, line: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /\s*([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/y;
  let i = 0;
  while (i < text.length) {
    re.lastIndex = i;
    const m = re.exec(text);
    if (m === null) throw new Error(`bad labels in metrics line: ${line}`);
    out[m[1]] = unescape(m[2]);
    i = re.lastIndex;
  }
  return out;
}

function parseValue(v: string, line: string): number {
  if (v === "+Inf") return Infinity;
  if (v === "-Inf") return -Infinity;
  if (v === "NaN") return NaN;
  const n = Number(v);
  if (v === "" || Number.isNaN(n)) throw new Error(`bad value in metrics line: ${line}`);
  return n;
}

/** The family a sample belongs to: histogram/summary suffixes map to their declared family. */
function familyOf(name: string, sets: Map<string, MetricSet>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const t = sets.get(base)?.type;
    if (t === "histogram" || t === "summary") return base;
  }
  return name;
}

/** Parses Prometheus text exposition into metric sets (in order). Throws on malformed lines. */
export function parsePrometheusText(text: string): MetricSet[] {
  const sets = new Map<string, MetricSet>();
  const get = (name: string): MetricSet => {
    let s = sets.get(name);
    if (s === undefined) {
      s = { name, description: "", type: "untyped", metrics: [] };
      sets.set(name, s);
    }
    return s;
  };
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)\s?(.*)$/.exec(line);
      if (m === null) continue; // a comment
      const s = get(m[2]);
      if (m[1] === "HELP") s.description = unescape(m[3]);
      else if (KINDS.has(m[3] as MetricKind)) s.type = m[3] as MetricKind;
      continue;
    }
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/.exec(line);
    if (m === null) throw new Error(`bad metrics line: ${line}`);
    get(familyOf(m[1], sets)).metrics.push({
      name: m[1],
      labels: m[2] ? parseLabels(m[2], line) : {},
      value: parseValue(m[3], line),
    });
  }
  return [...sets.values()];
}

/** Fetches http://host:port/metrics; errors name the URL and the likely fix. */
export async function scrapeMetrics(
  host: string,
  port: number,
  timeoutMs = 10_000,
): Promise<MetricSet[]> {
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  const url = `http://${h}:${port}/metrics`;
  let resp: Response;
  try {
    resp = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw new Error(
      `cannot read ${url}: ${(e as Error).message} (is telemetry_port ${port} set in the ` +
        `server's daos_server.yml? choose the host with -l and the port with -p)`,
    );
  }
  const body = await resp.text();
  if (!resp.ok) throw new Error(`${url}: HTTP ${resp.status}: ${body.slice(0, 200)}`);
  return parsePrometheusText(body);
}

/** Keeps the sets named in `names` (all when empty); unknown names are an error. */
export function selectSets(sets: MetricSet[], names: string[]): MetricSet[] {
  if (names.length === 0) return sets;
  const byName = new Map(sets.map((s) => [s.name, s]));
  const missing = names.filter((n) => !byName.has(n));
  if (missing.length > 0) {
    throw new Error(
      `unknown metric${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ` +
        `(see 'dmg telemetry metrics list' for the names)`,
    );
  }
  return names.map((n) => byName.get(n)!);
}

/** A Prometheus configuration scraping daos_server exporters at `hosts` (host names or IPs). */
export function prometheusScrapeConfig(
  system: string,
  hosts: string[],
  port: number,
  intervalS = 15,
): string {
  const targets = hosts.map((h) => `"${h.includes(":") ? `[${h}]` : h}:${port}"`).join(", ");
  return [
    "# Prometheus configuration for DAOS system " + system + " (dmg telemetry config)",
    "global:",
    `  scrape_interval: ${intervalS}s`,
    `  evaluation_interval: ${intervalS}s`,
    "scrape_configs:",
    `  - job_name: daos_${system.replace(/[^A-Za-z0-9_]/g, "_")}`,
    "    metrics_path: /metrics",
    "    static_configs:",
    `      - targets: [${targets}]`,
    "",
  ].join("\n");
}
