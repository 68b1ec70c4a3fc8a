/**
 * `dmg telemetry …`: `metrics list` and `metrics query [-m names]` read one server's exporter
 * (`-l host`, `-p port`, as the reference's dmg does: an HTTP scrape of /metrics, no gRPC);
 * `config` prints (or writes with -f) a Prometheus scrape configuration for the system's hosts.
 */
import type { Command } from "commander";
import {
  DEFAULT_TELEMETRY_PORT,
  type MetricSet,
  prometheusScrapeConfig,
  scrapeMetrics,
  selectSets,
} from "../../control/lib/control/telemetry.ts";
import { formatTable } from "../../control/lib/txtfmt.ts";
import { render, request } from "../render.ts";
import { commandGroup, type Runner } from "./context.ts";

interface MetricsOptions {
  hostList?: string;
  port?: string;
  metrics?: string;
}

function parsePort(text: string | undefined): number {
  if (text === undefined) return DEFAULT_TELEMETRY_PORT;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new Error(`invalid --port "${text}": give the server's telemetry_port (1-65535)`);
  }
  return n;
}

/** The one host of `-l` (default localhost): the exporter is per server. */
function oneHost(text: string | undefined): string {
  const hosts = (text ?? "localhost").split(",").map((h) => h.trim()).filter((h) => h !== "");
  if (hosts.length !== 1) {
    throw new Error(`--host-list "${text}": give exactly one host (telemetry is read per server)`);
  }
  return hosts[0].replace(/:\d+$/, "");
}

function labelsText(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "N/A";
  return `(${keys.map((k) => `${k}=${labels[k]}`).join(", ")})`;
}

/** `metrics list` text: one row per metric set. */
export function formatMetricsList(sets: MetricSet[]): string {
  if (sets.length === 0) return "";
  return formatTable(
    ["Metric Set", "Type", "Description"],
    sets.map((s) => ({ "Metric Set": s.name, Type: typeTitle(s), Description: s.description })),
  );
}

function typeTitle(s: MetricSet): string {
  return s.type.charAt(0).toUpperCase() + s.type.slice(1);
}

/** `metrics query` text: each set with its samples (the reference's layout). */
export function formatMetricsQuery(sets: MetricSet[]): string {
  let out = "";
  for (const s of sets) {
    out += `- Metric Set: ${s.name} (Type: ${typeTitle(s)})\n`;
    out += `  ${s.description}\n`;
    if (s.metrics.length === 0) {
      out += "    No metrics found\n\n";
      continue;
    }
    const rows = s.metrics.map((m) => ({
      Metric: m.name === s.name ? typeTitle(s) : m.name.slice(s.name.length + 1),
      Labels: labelsText(m.labels),
      Value: String(m.value),
    }));
    out += formatTable(["Metric", "Labels", "Value"], rows).split("\n").map((l) =>
      l === "" ? l : `    ${l}`
    ).join("\n") + "\n";
  }
  return out;
}

function setsJson(sets: MetricSet[]) {
  return sets.map((s) => ({
    name: s.name,
    description: s.description,
    type: s.type,
    metrics: s.metrics.map((m) => ({ name: m.name, labels: m.labels, value: m.value })),
  }));
}

/** Registers `telemetry metrics list|query` and `telemetry config`. */
export function registerTelemetry(program: Command, run: Runner): void {
  const group = commandGroup(
    program,
    "telemetry",
    undefined,
    "Perform telemetry operations",
  );
  const metrics = group.command("metrics").description("Commands for retrieving metrics data");
  metrics.command("list")
    .description("List available metrics")
    .option("-l, --host-list <host>", "DAOS server host to query (default localhost)")
    .option("-p, --port <port>", `telemetry port on the host (default ${DEFAULT_TELEMETRY_PORT})`)
    .action(run(async (ctx, opts: MetricsOptions) => {
      const host = oneHost(opts.hostList ?? ctx.globals.hostList);
      const port = parsePort(opts.port);
      const sets = await request(ctx, "", () => scrapeMetrics(host, port, ctx.timeoutMs(10_000)));
      render(ctx, {
        json: () => ({
          available_metric_sets: sets.map((s) => ({
            name: s.name,
            description: s.description,
            type: s.type,
          })),
        }),
        text: () => [["info", formatMetricsList(sets)]],
      });
    }));
  metrics.command("query")
    .description("Query metrics")
    .option("-l, --host-list <host>", "DAOS server host to query (default localhost)")
    .option("-p, --port <port>", `telemetry port on the host (default ${DEFAULT_TELEMETRY_PORT})`)
    .option("-m, --metrics <names>", "comma-separated list of metric names")
    .action(run(async (ctx, opts: MetricsOptions) => {
      const host = oneHost(opts.hostList ?? ctx.globals.hostList);
      const port = parsePort(opts.port);
      const names = (opts.metrics ?? "").split(",").map((n) => n.trim()).filter((n) => n !== "");
      const all = await request(ctx, "", () => scrapeMetrics(host, port, ctx.timeoutMs(10_000)));
      const sets = await request(ctx, "", () => Promise.resolve(selectSets(all, names)));
      render(ctx, {
        json: () => ({ metric_sets: setsJson(sets) }),
        text: () => [["info", formatMetricsQuery(sets)]],
      });
    }));
  group.command("config")
    .description("Print (or write with -f) a Prometheus scrape configuration for the system")
    .option(
      "-p, --port <port>",
      `telemetry port of the servers (default ${DEFAULT_TELEMETRY_PORT})`,
    )
    .option("-f, --file <path>", "write the configuration to this file instead of stdout")
    .action(run(async (ctx, opts: { port?: string; file?: string }) => {
      const port = parsePort(opts.port);
      const cfg = await ctx.config();
      const hosts = [...new Set((await ctx.targets()).map((t) => t.replace(/:\d+$/, "")))];
      const text = prometheusScrapeConfig(cfg.name, hosts, port);
      if (opts.file !== undefined) {
        await Deno.writeTextFile(opts.file, text).catch((e) => {
          throw new Error(`cannot write ${opts.file}: ${(e as Error).message}`);
        });
      }
      render(ctx, {
        json: () => ({ hosts, port, file: opts.file ?? "", config: text }),
        text: () => [["info", opts.file !== undefined ? `wrote ${opts.file}\n` : text]],
      });
    }));
}
