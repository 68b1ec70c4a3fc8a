/**
 * Server configurations for tests: YAML pieces of daos_server.yml (checked through the real
 * loader) and complete EngineConfig values for code that takes an already-parsed engine.
 */
import assert from "node:assert/strict";
import { checkServerConfigText } from "../../control/config/load.ts";
import type { EngineConfig, FabricConfig, ServerConfig } from "../../control/config/types.ts";

/** A `storage:` item: ram SCM mounted at `scmMount` (size in GiB). */
export function ramTierYaml(scmMount: string, scmSize = 4): string {
  return `      - class: ram
        scm_mount: ${scmMount}
        scm_size: ${scmSize}
`;
}

/** A `storage:` item: file bdevs (size in GiB), with `roles` when given (MD-on-SSD). */
export function fileTierYaml(bdevs: string[], bdevSize = 1, roles?: string[]): string {
  return `      - class: file
        bdev_list: [${bdevs.join(", ")}]
        bdev_size: ${bdevSize}
${roles ? `        bdev_roles: [${roles.join(", ")}]\n` : ""}`;
}

/** Options of {@link engineYaml}. */
export interface EngineYamlOptions {
  targets?: number;
  port?: number;
  /** Further engine keys, indented as engine keys, placed before `storage:`. */
  extra?: string;
}

/** One `engines:` item on loopback (ofi+tcp via lo) with the given `storage:` items. */
export function engineYaml(storage: string, o: EngineYamlOptions = {}): string {
  return `  - targets: ${o.targets ?? 1}
    fabric_iface: lo
    fabric_iface_port: ${o.port ?? 31416}
${o.extra ?? ""}    storage:
${storage}`;
}

/** Top of a single-host daos_server.yml (its own MS replica, no TLS) up to `engines:`. */
export const LOCAL_SERVER_HEAD = `name: daos_server
mgmt_svc_replicas: [localhost]
provider: ofi+tcp
transport_config: {allow_insecure: true}
engines:
`;

/** Parses daos_server.yml text; fails the test when the loader reports any problem. */
export function parseConfig(text: string, path = "t.yml"): ServerConfig {
  const r = checkServerConfigText(text, path);
  assert.deepEqual(r.problems, []);
  return r.config!;
}

/** Fabric settings of an engine on loopback TCP; port 0 lets the engine pick a free one. */
export function loFabric(fabricIfacePort = 31416): FabricConfig {
  return {
    provider: "ofi+tcp",
    fabricIface: "lo",
    fabricIfacePort,
    crtTimeout: 30,
    disableSrx: false,
    fabricAuthKey: "",
    secondaryProviderEndpoints: [],
    bypassHealthChk: false,
  };
}

/** A complete engine 1 (8 targets, ram SCM at /mnt/daos1, no bdevs) with `over` applied. */
export function engineConfig(over: Partial<EngineConfig> = {}): EngineConfig {
  return {
    index: 1,
    targets: 8,
    nrXsHelpers: 2,
    firstCore: null,
    pinnedNumaNode: null,
    fabric: loFabric(),
    logMask: "INFO",
    logFile: "/tmp/daos_engine.1.log",
    envVars: [],
    envPassThrough: [],
    scm: {
      tier: 0,
      class: "ram",
      scmMount: "/mnt/daos1",
      scmList: [],
      scmSize: 4,
      scmHugepagesDisabled: null,
    },
    bdevs: [],
    acceleration: null,
    spdkRpcServer: null,
    bdevAutoFaulty: null,
    spdkIobuf: null,
    modules: "",
    enableHotplug: false,
    systemName: "daos_server",
    controlMetadataPath: "",
    ...over,
  };
}
