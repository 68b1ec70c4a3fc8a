/**
 * The checks behind `daos_server config validate -o FILE [--hardware]` (registered in
 * control/cmd/config_validate.ts): every problem of a config file (offline rules; with
 * --hardware also the checks against this host) without touching the machine.
 * `loadServerConfigForStart` is the same gate for `daos_server start`.
 */
import { checkHardware, type HostFacts, hostFacts } from "./hardware_check.ts";
import { checkServerConfigFile, problemToFault } from "./load.ts";
import { type ConfigProblem, formatProblem } from "./problems.ts";
import type { ServerConfig } from "./types.ts";
import { engineFormatHazards } from "../storage/format_safety.ts";
import { controlMetadataHazard } from "../storage/metadata_safety.ts";

/** Outcome of a validation run. */
export interface ValidateReport {
  config: ServerConfig | null;
  problems: ConfigProblem[];
  /** Text to print (one problem per line plus its resolution, then a summary line). */
  text: string;
}

/** Validates a config file; with `hardware`, also against this host's facts. */
export async function validateConfigFile(
  path: string,
  opts: { hardware: boolean; facts?: HostFacts },
): Promise<ValidateReport> {
  const check = await checkServerConfigFile(path);
  const problems = [...check.problems];
  if (opts.hardware && check.config) {
    const facts = opts.facts ?? await hostFacts();
    for (const h of await checkHardware(check.config, facts)) {
      const { line, col } = check.locate(h.path);
      problems.push({
        file: path,
        line,
        col,
        code: h.code,
        message: h.message,
        resolution: h.resolution,
      });
    }
  }
  problems.sort((a, b) => a.line - b.line || a.col - b.col);
  let text = "";
  for (const p of problems) {
    text += `${formatProblem(p)}\n`;
    if (p.resolution !== "") text += `  resolution: ${p.resolution}\n`;
  }
  for (const n of check.config?.notices ?? []) text += `NOTICE: ${n}\n`;
  text += problems.length === 0
    ? `configuration ${path} is valid${opts.hardware ? " (offline and hardware checks)" : ""}\n`
    : `${problems.length} problem${problems.length === 1 ? "" : "s"} found in ${path}\n`;
  return { config: check.config, problems, text };
}

/**
 * The start gate: offline and hardware checks; throws a Fault (first problem, with the count
 * of others) on any problem, else returns the config. (`saveActiveConfig` is called by
 * start once the socket directory is claimed.)
 */
export async function loadServerConfigForStart(
  path: string,
  facts?: HostFacts,
): Promise<ServerConfig> {
  const f = facts ?? await hostFacts();
  // Start refuses only storage hazards that --force cannot override (system paths, devices):
  // the others are format's to refuse, and --force must stay reachable on a running server.
  const startFacts: HostFacts = {
    ...f,
    formatHazards: f.formatHazards && ((e) => engineFormatHazards(e, true)),
    metadataHazard: f.metadataHazard &&
      ((c) => controlMetadataHazard(c.controlMetadata, true)),
  };
  const r = await validateConfigFile(path, { hardware: true, facts: startFacts });
  if (r.problems.length > 0 || !r.config) {
    const f = problemToFault(r.problems[0]);
    throw r.problems.length === 1 ? f : f.withDescription(
      `${f.description} (and ${
        r.problems.length - 1
      } more; run 'daos_server config validate --hardware -o ${path}')`,
    );
  }
  return r.config;
}
