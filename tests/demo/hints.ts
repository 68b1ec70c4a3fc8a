/**
 * The command lines the demo prints for the user: dmg with the demo's config, and the
 * tear-down. Paths are shown relative to the checkout when the user stands in it.
 */
import { relative } from "node:path";
import { DEFAULT_STATE_DIR } from "./options.ts";

const top = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** `path` as the user should type it from `cwd` (relative inside the checkout). */
export function displayPath(path: string, cwd = Deno.cwd()): string {
  if (cwd === top && path.startsWith(top + "/")) return relative(top, path);
  return path;
}

function quote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `bin/dmg -o <config> <args>` as a shell line. */
export function dmgLine(dmgConfig: string, args: readonly string[], cwd = Deno.cwd()): string {
  return [displayPath(`${top}/bin/dmg`, cwd), "-o", dmgConfig, ...args].map(quote).join(" ");
}

/** `scripts/demo <sub>` with `--state-dir` when it is not the default one. */
export function demoLine(sub: string, stateDir: string, cwd = Deno.cwd()): string {
  const dir = stateDir === DEFAULT_STATE_DIR ? [] : ["--state-dir", stateDir];
  const script = cwd === top ? "./scripts/demo" : `${top}/scripts/demo`;
  return [script, sub, ...dir].map(quote).join(" ");
}

/**
 * The "how to use it" block printed when the system is up (or already running); with the
 * servers' telemetry port, the metrics lines too.
 */
export function usageBlock(
  dmgConfig: string,
  stateDir: string,
  cwd = Deno.cwd(),
  telemetryPort?: number,
): string {
  const metrics = telemetryPort === undefined ? [] : [
    `  ${dmgLine(dmgConfig, ["telemetry", "metrics", "list", "-p", String(telemetryPort)], cwd)}`,
    `  curl -s http://127.0.0.1:${telemetryPort}/metrics`,
  ];
  return [
    "Use it with:",
    `  ${dmgLine(dmgConfig, ["system", "query", "-v"], cwd)}`,
    `  ${dmgLine(dmgConfig, ["storage", "query", "usage"], cwd)}`,
    `  ${dmgLine(dmgConfig, ["pool", "query", "tank"], cwd)}`,
    `  ${dmgLine(dmgConfig, ["pool", "destroy", "tank"], cwd)}`,
    `  ${dmgLine(dmgConfig, ["system", "events"], cwd)}`,
    ...metrics,
    "Tear it all down (processes, tmpfs mounts, files) with:",
    `  ${demoLine("down", stateDir, cwd)}`,
  ].join("\n");
}
