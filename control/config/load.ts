/**
 * Loading daos_server.yml: parse with positions, read the schema, apply the offline rules.
 * `checkServerConfigText` returns every problem; `loadServerConfig` throws the first as a Fault.
 */
import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import { yamlErrorText } from "../lib/yaml_errors.ts";
import { type Fault, makeFault, serverConfigFault } from "../lib/fault.ts";
import { type ConfigProblem, formatProblem, Problems } from "./problems.ts";
import { type EngineLoc, readServerConfig } from "./schema.ts";
import type { ServerConfig } from "./types.ts";
import { validateServerConfig } from "./validate.ts";
import { MapReader, offsetOf } from "./yaml_reader.ts";
import { locator, type PathSegment } from "./locate.ts";

/** Largest config file accepted (a real one is a few KiB). */
export const MAX_CONFIG_BYTES = 1 << 20;

/** Result of checking a config: the config (even with problems) and all problems found. */
export interface ConfigCheck {
  config: ServerConfig | null;
  problems: ConfigProblem[];
  /** Source position of a key path, for checks made after loading (e.g. --hardware). */
  locate: (path: readonly PathSegment[]) => { line: number; col: number };
}

/** Parses and validates config text offline; never throws for bad input. */
export function checkServerConfigText(text: string, file: string): ConfigCheck {
  const lc = new LineCounter();
  const problems = new Problems(file, (off) => lc.linePos(off));
  const none = () => ({ line: 0, col: 0 });
  if (text.length > MAX_CONFIG_BYTES) {
    problems.add(
      -1,
      701,
      `config file is ${text.length} bytes, more than the ${MAX_CONFIG_BYTES} accepted`,
      "check that -o names a daos_server.yml",
    );
    return { config: null, problems: problems.list, locate: none };
  }
  // uniqueKeys: duplicate keys are an error.
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  for (const err of doc.errors) {
    const off = err.pos?.[0] ?? -1;
    problems.add(
      off,
      701,
      `invalid YAML: ${yamlErrorText(err.message)}`,
      "fix the YAML syntax at this position",
    );
  }
  if (doc.errors.length > 0) return { config: null, problems: problems.list, locate: none };
  const locate = locator(doc, lc);
  const contents = doc.contents;
  const ctx = { doc, problems };
  if (contents !== null && !(isScalar(contents) && contents.value === null) && !isMap(contents)) {
    problems.add(
      offsetOf(contents),
      701,
      "config must be a map of keys at top level",
      "see the server config examples",
    );
    return { config: null, problems: problems.list, locate };
  }
  const top = new MapReader(ctx, isMap(contents) ? contents : null, "");
  const locs: EngineLoc[] = [];
  const config = readServerConfig(ctx, top, file, locs);
  validateServerConfig(config, top, locs);
  return { config, problems: problems.list, locate };
}

/** Turns a config problem into a Fault (description = `file:line:col: message`). */
export function problemToFault(p: ConfigProblem): Fault {
  const generic = p.code === 701;
  return makeFault(
    p.code,
    generic ? `insufficient information in configuration: ${formatProblem(p)}` : formatProblem(p),
    p.resolution !== ""
      ? p.resolution
      : "fix the configuration, see the server config examples (utils/config/examples)",
  );
}

/** Reads a config file's text, mapping I/O errors to a fault naming the path. */
export async function readConfigFile(path: string): Promise<string> {
  try {
    const st = await Deno.stat(path);
    if (!st.isFile) throw new Error("not a regular file");
    if (st.size > MAX_CONFIG_BYTES) return "x".repeat(MAX_CONFIG_BYTES + 1);
    return await Deno.readTextFile(path);
  } catch (e) {
    throw serverConfigFault(
      "ServerNoConfigPath",
      `cannot read config file "${path}": ${(e as Error).message}`,
      "pass an existing daos_server.yml with -o/--config",
    );
  }
}

/** Checks a config file offline (see checkServerConfigText); I/O errors throw a Fault. */
export async function checkServerConfigFile(path: string): Promise<ConfigCheck> {
  return checkServerConfigText(await readConfigFile(path), path);
}

/**
 * Loads and validates daos_server.yml. Throws a `Fault` for the first problem (its description
 * names file:line:col; the count of further problems is appended).
 */
export async function loadServerConfig(path: string): Promise<ServerConfig> {
  const { config, problems } = await checkServerConfigFile(path);
  if (problems.length > 0 || config === null) {
    const f = problemToFault(problems[0]);
    if (problems.length === 1) throw f;
    throw f.withDescription(
      `${f.description} (and ${
        problems.length - 1
      } more; run 'daos_server config validate -o ${path}')`,
    );
  }
  return config;
}
