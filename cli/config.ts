/**
 * dmg's client configuration, daos_control.yml (dmg.md §2.2): search order, strict keys,
 * defaults, validation. Errors name the file and line:column and read
 * `failed to load control configuration: <cause>`.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { yamlErrorText } from "../control/lib/yaml_errors.ts";
import { faults } from "../control/lib/fault.ts";

/** Transport settings of the client. */
export interface ClientTransportConfig {
  allowInsecure: boolean;
  caCert: string;
  cert: string;
  key: string;
  clientCertDir: string;
}

/** The loaded (or default) control configuration. */
export interface ControlConfig {
  /** File it came from; "" for built-in defaults. */
  path: string;
  name: string;
  port: number;
  hostlist: string[];
  transportConfig: ClientTransportConfig;
}

/** Built-in defaults (used when no file is found). */
export function defaultControlConfig(): ControlConfig {
  return {
    path: "",
    name: "daos_server",
    port: 10001,
    hostlist: ["localhost:10001"],
    transportConfig: {
      allowInsecure: false,
      caCert: "/etc/daos/certs/daosCA.crt",
      cert: "/etc/daos/certs/admin.crt",
      key: "/etc/daos/certs/admin.key",
      clientCertDir: "",
    },
  };
}

/** Candidate files when -o is not given, in search order. */
export function searchPaths(home = Deno.env.get("HOME") ?? ""): string[] {
  const out: string[] = [];
  if (home !== "") out.push(`${home}/.daos_control.yml`);
  // Builds that do not set a config dir search the current directory, then /etc/daos.
  out.push("./daos_control.yml", "/etc/daos/daos_control.yml");
  return out;
}

class ConfigError extends Error {}

function wrap(cause: string): Error {
  return new ConfigError(`failed to load control configuration: ${cause}`);
}

/**
 * Parses the text of a daos_control.yml on top of the defaults. Throws
 * `failed to load control configuration: <file>:<line>:<col>: <problem>` on bad input.
 */
export function parseControlConfig(text: string, path: string): ControlConfig {
  const cfg = defaultControlConfig();
  cfg.path = path;
  if (text.length === 0) throw wrap(`empty config file: ${path}`);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const where = (node: Node | null | undefined): string => {
    const off = node?.range?.[0];
    if (off === undefined) return path;
    const { line, col } = lc.linePos(off);
    return `${path}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const { line, col } = lc.linePos(e.pos[0]);
    throw wrap(`${path}:${line}:${col}: invalid YAML: ${yamlErrorText(e.message)}`);
  }
  const root = doc.contents;
  if (root === null) return cfg; // only comments: all defaults
  if (!isMap(root)) throw wrap(`${where(root)}: expected a mapping of settings`);

  const scalar = (n: unknown, key: string, type: "string" | "number" | "boolean") => {
    if (!isScalar(n) || typeof n.value !== type) {
      const got = isScalar(n) ? JSON.stringify(n.value) : isSeq(n) ? "a list" : "a mapping";
      throw wrap(`${where(n as Node)}: ${key}: expected a ${type}, got ${got}`);
    }
    return n.value as never;
  };
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : "";
    const v = pair.value;
    switch (key) {
      case "name":
        cfg.name = scalar(v, key, "string");
        break;
      case "port":
        cfg.port = scalar(v, key, "number");
        if (!Number.isInteger(cfg.port) || cfg.port < 0 || cfg.port > 65535) {
          throw wrap(`${where(v as Node)}: port: ${cfg.port} is not a port number (1-65535)`);
        }
        break;
      case "hostlist":
        if (!isSeq(v)) throw wrap(`${where(v as Node)}: hostlist: expected a list of hosts`);
        cfg.hostlist = v.items.map((item) => String(scalar(item, "hostlist entry", "string")));
        break;
      case "transport_config":
        if (!isMap(v)) throw wrap(`${where(v as Node)}: transport_config: expected a mapping`);
        for (const tp of v.items) {
          const tk = isScalar(tp.key) ? String(tp.key.value) : "";
          const tv = tp.value;
          const tc = cfg.transportConfig;
          if (tk === "allow_insecure") tc.allowInsecure = scalar(tv, tk, "boolean");
          else if (tk === "ca_cert") tc.caCert = scalar(tv, tk, "string");
          else if (tk === "cert") tc.cert = scalar(tv, tk, "string");
          else if (tk === "key") tc.key = scalar(tv, tk, "string");
          else if (tk === "client_cert_dir") tc.clientCertDir = scalar(tv, tk, "string");
          else {
            throw wrap(
              `${where(tp.key as Node)}: unknown key "transport_config.${tk}" ` +
                "(allowed: allow_insecure, ca_cert, cert, key, client_cert_dir)",
            );
          }
        }
        break;
      default:
        throw wrap(
          `${where(pair.key as Node)}: unknown key "${key}" ` +
            "(allowed: name, port, hostlist, transport_config)",
        );
    }
  }
  if (cfg.name.length === 0 || cfg.name.length > 15) {
    throw wrap(`invalid system name: "${cfg.name}" (use a system name of 1 to 15 characters)`);
  }
  if (cfg.port === 0) throw faults.ClientConfigBadControlPort();
  if (cfg.hostlist.length === 0) throw faults.ClientConfigEmptyHostList();
  return cfg;
}

/**
 * Loads the configuration: `path` when given (must exist), else the first file of the search
 * order, else the defaults.
 */
export async function loadControlConfig(
  path?: string,
  candidates: string[] = searchPaths(),
): Promise<ControlConfig> {
  let chosen = path;
  if (chosen === undefined) {
    for (const c of candidates) {
      try {
        if ((await Deno.stat(c)).isFile) {
          chosen = c;
          break;
        }
      } catch { /* not there: next candidate */ }
    }
    if (chosen === undefined) return defaultControlConfig();
  }
  return parseControlConfig(await readBounded(chosen), chosen);
}

/** Largest daos_control.yml accepted (a real one is a few hundred bytes). */
export const MAX_CONTROL_CONFIG_BYTES = 1 << 20;

/**
 * Reads a regular file of at most {@link MAX_CONTROL_CONFIG_BYTES}: `-o /dev/zero`, a FIFO or
 * a huge file would otherwise block dmg or grow it without bound before parsing starts.
 */
async function readBounded(path: string): Promise<string> {
  let f: Deno.FsFile | undefined;
  try {
    // stat first: opening a FIFO blocks until someone writes to it.
    if (!(await Deno.stat(path)).isFile) throw new Error("not a regular file");
    f = await Deno.open(path, { read: true });
    const buf = new Uint8Array(MAX_CONTROL_CONFIG_BYTES + 1);
    let got = 0;
    while (got < buf.length) {
      const n = await f.read(buf.subarray(got));
      if (n === null) break;
      got += n;
    }
    if (got > MAX_CONTROL_CONFIG_BYTES) {
      throw new Error(
        `larger than the ${MAX_CONTROL_CONFIG_BYTES} bytes accepted (check that -o names a ` +
          "daos_control.yml)",
      );
    }
    return new TextDecoder().decode(buf.subarray(0, got));
  } catch (e) {
    throw wrap(`cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    f?.close();
  }
}
