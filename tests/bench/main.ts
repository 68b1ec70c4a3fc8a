/**
 * `deno task bench [scenario...] [--reps N] [--sample-ms MS] [--out DIR]`: runs the
 * registered scenarios (all when none named), prints a table and writes one JSON result per
 * scenario to `<out>/<scenario>-<timestamp>.json` (default out: bench-results/).
 */
import { parseArgs } from "node:util";
import { formatTable } from "../../control/lib/txtfmt.ts";
import { registeredScenarios } from "./scenario.ts";
import { runScenario, type ScenarioResult } from "./runner.ts";

const scenarioDir = new URL("./scenarios/", import.meta.url);

/** Imports every scenario module so it registers itself. */
async function loadScenarios(): Promise<void> {
  const names: string[] = [];
  for (const e of Deno.readDirSync(scenarioDir)) {
    if (e.isFile && e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) names.push(e.name);
  }
  for (const n of names.sort()) await import(new URL(n, scenarioDir).href);
}

function fmtUs(v: number): string {
  return v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${v.toFixed(2)} µs`;
}

function fmtRatio(v: number | undefined): string {
  return v === undefined ? "n/a" : `${v.toFixed(2)}x`;
}

/** Renders results as a text table (per-call times). */
export function resultsTable(results: readonly ScenarioResult[]): string {
  return formatTable(
    ["Scenario", "Run p50", "Run p99", "Floor p50", "Floor p99", "Ratio p50", "Ratio p99", "N"],
    results.map((r) => ({
      "Scenario": r.scenario,
      "Run p50": fmtUs(r.run.p50),
      "Run p99": fmtUs(r.run.p99),
      "Floor p50": fmtUs(r.floor.p50),
      "Floor p99": fmtUs(r.floor.p99),
      "Ratio p50": fmtRatio(r.ratioP50),
      "Ratio p99": fmtRatio(r.ratioP99),
      "N": String(r.run.n),
    })),
  );
}

function positiveInt(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`invalid --${name} "${v}": give a positive integer`);
  }
  return n;
}

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      reps: { type: "string" },
      "sample-ms": { type: "string" },
      out: { type: "string", default: "bench-results" },
      list: { type: "boolean", default: false },
    },
  });
  await loadScenarios();
  const all = registeredScenarios();
  if (values.list) {
    for (const s of all) console.log(`${s.name}\t${s.description}`);
    return 0;
  }
  const wanted = positionals.length > 0 ? positionals : all.map((s) => s.name);
  const unknown = wanted.filter((w) => !all.some((s) => s.name === w));
  if (unknown.length > 0) {
    throw new Error(
      `unknown bench scenario(s): ${unknown.join(", ")} (available: ${
        all.map((s) => s.name).join(", ")
      })`,
    );
  }
  const reps = positiveInt("reps", values.reps, 30);
  const sampleMs = positiveInt("sample-ms", values["sample-ms"], 5);
  const outDir = values.out ?? "bench-results";
  Deno.mkdirSync(outDir, { recursive: true });
  const results: ScenarioResult[] = [];
  const failed: string[] = [];
  for (const name of wanted) {
    const s = all.find((x) => x.name === name);
    if (s === undefined) continue;
    let r: ScenarioResult;
    try {
      r = await runScenario(s, { reps, sampleMs });
    } catch (e) {
      // One broken scenario must not hide the others' numbers.
      console.error(`${s.name}: FAILED: ${e instanceof Error ? e.message : String(e)}`);
      failed.push(s.name);
      continue;
    }
    results.push(r);
    const stamp = r.startedAt.replace(/[:.]/g, "-");
    const file = `${outDir}/${s.name}-${stamp}.json`;
    Deno.writeTextFileSync(file, JSON.stringify(r, null, 2) + "\n");
    console.error(`${s.name}: wrote ${file}`);
  }
  console.log(resultsTable(results));
  if (failed.length > 0) {
    console.error(`bench: ${failed.length} scenario(s) failed: ${failed.join(", ")}`);
    return 1;
  }
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
