/**
 * The config generator behind `daos_server config generate` and `dmg config generate`
 * (which feeds it the hosts' scans), and the flags both share: a daos_server.yml for a host
 * from its fabric and storage scans, as the reference's control.ConfGenerate lays it out (dmg.md §5.16):
 * one engine per NUMA node (or `nrEngines`), each with the node's fabric interface of the
 * requested class, its PMem namespace (or a RAM disk) as SCM and the node's NVMe SSDs, ports
 * 31416 + 1000·i, target and helper counts from the node's cores. The output is meant to pass
 * `daos_server config validate`; inputs that cannot give such a config are refused naming
 * what is missing.
 */
import type { Command } from "commander";
import { stringify } from "yaml";
import type { NetworkScanResp } from "../../proto/gen/ts/ctl/network_pb.ts";
import type { StorageScanResp } from "../../proto/gen/ts/ctl/storage_pb.ts";

/** ARP hardware types of the net classes (NetDevClass). */
export const NET_CLASSES = { ethernet: 1, infiniband: 32 } as const;

/** What to generate (the reference's ConfGenerateReq). */
export interface ConfGenerateRequest {
  /** Engines to configure; 0 = one per NUMA node. */
  nrEngines: number;
  /** No NVMe tiers. */
  scmOnly: boolean;
  netClass: keyof typeof NET_CLASSES;
  /** Provider to use; "" or "all" = the best one the chosen interfaces share. */
  netProvider: string;
  /** mgmt_svc_replicas entries (host[:port]). */
  msReplicas: string[];
  /** RAM-disk SCM instead of PMem. */
  useTmpfsScm: boolean;
  /** control_metadata.path (MD-on-SSD); "" = none. */
  controlMetadataPath: string;
  /** fabric_iface_port per engine; empty = 31416 + 1000·i. */
  fabricPorts: number[];
}

/** Defaults as the reference's flags have them. */
export function defaultConfGenerateRequest(): ConfGenerateRequest {
  return {
    nrEngines: 0,
    scmOnly: false,
    netClass: "infiniband",
    netProvider: "",
    msReplicas: ["localhost"],
    useTmpfsScm: false,
    controlMetadataPath: "",
    fabricPorts: [],
  };
}

/**
 * The `config generate` flags that dmg and daos_server share (the reference's
 * ConfGenerateCmd). Each command's own flags (dmg's -l host list, daos_server's -l helper log
 * and --skip-prep) go around them. `numEngines` parses -e at parse time (daos_server's go-flags
 * uint error); without it -e stays text and {@link generateRequestFromFlags} checks it.
 */
export function addGenerateOptions(cmd: Command, numEngines?: (v: string) => number): Command {
  cmd.option(
    "-a, --access-points <list>",
    "Comma separated list of access point addresses <ipv4addr/hostname> (deprecated, use " +
      "--ms-replicas)",
  )
    .option(
      "-r, --ms-replicas <list>",
      "Comma separated list of MS replica addresses <ipv4addr/hostname>",
      "localhost",
    );
  const enginesHelp = "Set the number of DAOS Engine sections to be populated in the config " +
    "file output. If unset then the value will be set to the number of NUMA nodes on storage " +
    "hosts in the DAOS system.";
  if (numEngines) cmd.option("-e, --num-engines <n>", enginesHelp, numEngines);
  else cmd.option("-e, --num-engines <n>", enginesHelp);
  return cmd.option("-s, --scm-only", "Create a SCM-only config without NVMe SSDs.")
    .option(
      "-c, --net-class <class>",
      "Set the network class to be used (ethernet or infiniband)",
      "infiniband",
    )
    .option("-p, --net-provider <provider>", "Set the network provider to be used")
    .option("-t, --use-tmpfs-scm", "Use tmpfs for scm rather than PMem")
    .option(
      "-m, --control-metadata-path <path>",
      "External storage path to store control metadata in MD-on-SSD mode",
    )
    .option(
      "-f, --fabric-ports <list>",
      "Comma separated list of fabric ports, one per engine (default 31416, 32416, ...)",
    );
}

/** The values commander gives for the flags of {@link addGenerateOptions}. */
export interface GenerateFlags {
  accessPoints?: string;
  msReplicas: string;
  /** Text unless the command parsed it (see addGenerateOptions). */
  numEngines?: string | number;
  scmOnly?: boolean;
  netClass: string;
  netProvider?: string;
  useTmpfsScm?: boolean;
  controlMetadataPath?: string;
  fabricPorts?: string;
}

function invalidValue(value: string, flag: string, want: string): Error {
  return new Error(`invalid argument for flag \`${flag}': ${want} (got "${value}")`);
}

/**
 * The generator's request from the flags; throws naming a bad flag value. `notice` gets the
 * deprecation notice for -a.
 */
export function generateRequestFromFlags(
  o: GenerateFlags,
  notice: (msg: string) => void,
): ConfGenerateRequest {
  if (!(o.netClass in NET_CLASSES)) {
    throw new Error(
      `Invalid value \`${o.netClass}' for option \`-c, --net-class'. Allowed values are: ` +
        "ethernet or infiniband",
    );
  }
  let engines = 0;
  if (typeof o.numEngines === "number") engines = o.numEngines;
  else if (o.numEngines !== undefined) {
    if (!/^\d+$/.test(o.numEngines.trim())) {
      throw invalidValue(o.numEngines, "-e, --num-engines", "want a whole number");
    }
    engines = Number(o.numEngines.trim());
  }
  let replicas = o.msReplicas;
  if (o.accessPoints !== undefined) {
    notice("access-points is deprecated; please use ms-replicas instead");
    replicas = o.accessPoints;
  }
  const ports = (o.fabricPorts ?? "").trim() === "" ? [] : o.fabricPorts!.split(",").map((p) => {
    const n = Number(p.trim());
    if (!/^\d+$/.test(p.trim()) || n < 1 || n > 65535) {
      throw invalidValue(p.trim(), "-f, --fabric-ports", "want ports 1..65535, comma-separated");
    }
    return n;
  });
  return {
    ...defaultConfGenerateRequest(),
    nrEngines: engines,
    scmOnly: o.scmOnly === true,
    netClass: o.netClass as keyof typeof NET_CLASSES,
    netProvider: o.netProvider ?? "",
    msReplicas: replicas.split(",").map((r) => r.trim()),
    useTmpfsScm: o.useTmpfsScm === true,
    controlMetadataPath: o.controlMetadataPath ?? "",
    fabricPorts: ports,
  };
}

/** First engine's fabric port (the reference's defaultFiPort) and the step between engines. */
export const DEFAULT_FABRIC_PORT = 31416;
export const FABRIC_PORT_STEP = 1000;

/** Cores of a NUMA node kept for the engine's own (system) xstreams. */
const RESERVED_CORES = 1;

/** Targets and helper xstreams for an engine owning `cores` cores and `ssds` SSDs. */
export function threadCounts(cores: number, ssds: number): { targets: number; helpers: number } {
  const usable = cores - RESERVED_CORES;
  if (usable < 1) {
    throw new Error(
      `${cores} core(s) per engine leave no core for I/O targets (1 is kept for the engine ` +
        "itself): use fewer engines (-e) or a host with more cores",
    );
  }
  let targets = usable;
  // Each SSD serves the same number of targets.
  if (ssds > 0) {
    if (targets < ssds) targets = ssds;
    else targets -= targets % ssds;
  }
  const helpers = Math.min(Math.max(0, usable - targets), Math.floor(targets / 4));
  return { targets, helpers };
}

/** MD-on-SSD roles of the bdev tier list (one tier: all roles). */
const ALL_ROLES = ["data", "meta", "wal"];

/** A generated config as a plain YAML-ready object (keys in the reference's order). */
export type GeneratedConfig = Record<string, unknown>;

/**
 * Generates the config. Throws naming the missing hardware (interfaces of the class, PMem
 * namespaces, SSDs per NUMA node) or the conflicting options.
 */
export function generateServerConfig(
  req: ConfGenerateRequest,
  fabric: NetworkScanResp,
  storage: StorageScanResp,
): GeneratedConfig {
  if (req.controlMetadataPath !== "" && req.scmOnly) {
    throw new Error(
      "--control-metadata-path configures MD-on-SSD, which needs NVMe SSDs: drop --scm-only",
    );
  }
  if (req.useTmpfsScm && !req.scmOnly && req.controlMetadataPath === "") {
    throw new Error(
      "--use-tmpfs-scm will generate an md-on-ssd config and so --control-metadata-path must " +
        "also be set",
    );
  }
  if (req.msReplicas.length === 0 || req.msReplicas.some((r) => r.trim() === "")) {
    throw new Error("--ms-replicas: give one or more host[:port] entries, comma-separated");
  }
  const numaCount = Math.max(1, fabric.numacount);
  const nrEngines = req.nrEngines > 0 ? req.nrEngines : numaCount;
  if (nrEngines > numaCount) {
    throw new Error(
      `${nrEngines} engines requested but the host has ${numaCount} NUMA node(s): one engine ` +
        "per NUMA node at most",
    );
  }
  const cls = NET_CLASSES[req.netClass];
  const wantProvider = req.netProvider === "all" ? "" : req.netProvider;
  const ifaces = fabric.interfaces.filter((i) =>
    i.netdevclass === cls && (wantProvider === "" || i.provider === wantProvider)
  );
  // The provider: the one asked for, else the most preferred one (lowest priority value)
  // offered by an interface of the class.
  const best =
    [...ifaces].sort((x, y) => x.priority - y.priority || (x.device < y.device ? -1 : 1))[0];
  const provider = wantProvider !== "" ? wantProvider : best?.provider ?? "";
  // Per NUMA node its first interface (by name) offering that provider.
  const byNuma = new Map<number, typeof ifaces[number]>();
  for (
    const i of ifaces.filter((x) => x.provider === provider).sort((
      x,
      y,
    ) => (x.device < y.device ? -1 : 1))
  ) {
    if (!byNuma.has(i.numanode)) byNuma.set(i.numanode, i);
  }
  const numas = [...byNuma.keys()].sort((a, b) => a - b).slice(0, nrEngines);
  if (numas.length < nrEngines) {
    throw new Error(
      `insufficient number of ${req.netClass} network interfaces${
        provider ? ` supporting ${provider}` : ""
      } on separate NUMA nodes (want ${nrEngines}, got ${numas.length}): use -c/--net-class, ` +
        "-p/--net-provider or -e/--num-engines to match the host (see 'daos_server network scan -p all')",
    );
  }
  const pmem = storage.scm?.namespaces ?? [];
  const ssds = storage.nvme?.ctrlrs ?? [];
  const ports = req.fabricPorts;
  if (ports.length > 0 && ports.length !== nrEngines) {
    throw new Error(`--fabric-ports: ${ports.length} port(s) given for ${nrEngines} engine(s)`);
  }
  const cores = Math.max(1, Math.floor((fabric.corespernuma * numaCount) / nrEngines));

  const engines = numas.map((numa, i) => {
    const iface = byNuma.get(numa)!;
    const tiers: Record<string, unknown>[] = [];
    if (req.useTmpfsScm) {
      tiers.push({ class: "ram", scm_mount: `/mnt/daos${i}` });
    } else {
      const ns = pmem.filter((n) =>
        n.numaNode === numa
      ).sort((a, b) => (a.blockdev < b.blockdev ? -1 : 1))[0];
      if (!ns) {
        throw new Error(
          `no PMem namespace on NUMA node ${numa} for engine ${i} (found ${pmem.length} ` +
            "namespace(s)): prepare PMem with 'daos_server scm prepare', or use -t/--use-tmpfs-scm",
        );
      }
      tiers.push({ class: "dcpm", scm_mount: `/mnt/daos${i}`, scm_list: [`/dev/${ns.blockdev}`] });
    }
    let nrSsds = 0;
    if (!req.scmOnly) {
      const list = ssds.filter((c) => c.socketId === numa).map((c) => c.pciAddr).sort();
      if (list.length === 0) {
        throw new Error(
          `no NVMe SSD on NUMA node ${numa} for engine ${i} (found ${ssds.length} SSD(s)): use ` +
            "-s/--scm-only for a config without NVMe",
        );
      }
      nrSsds = list.length;
      const tier: Record<string, unknown> = { class: "nvme", bdev_list: list };
      if (req.controlMetadataPath !== "") tier.bdev_roles = ALL_ROLES;
      tiers.push(tier);
    }
    return {
      nrSsds,
      log_file: `/var/log/daos/daos_engine.${i}.log`,
      storage: tiers,
      provider,
      fabric_iface: iface.device,
      fabric_iface_port: ports[i] ?? DEFAULT_FABRIC_PORT + FABRIC_PORT_STEP * i,
      pinned_numa_node: numa,
    };
  });

  // Every engine gets the same counts (validation requires it): the smallest any engine's
  // cores and SSDs allow.
  const counts = engines.map((e) => threadCounts(cores, e.nrSsds));
  const targets = Math.min(...counts.map((c) => c.targets));
  const helpers = Math.min(...counts.map((c) => c.helpers));
  const cfg: GeneratedConfig = {
    name: "daos_server",
    port: 10001,
    transport_config: {
      allow_insecure: false,
      client_cert_dir: "/etc/daos/certs/clients",
      ca_cert: "/etc/daos/certs/daosCA.crt",
      cert: "/etc/daos/certs/server.crt",
      key: "/etc/daos/certs/server.key",
    },
    engines: engines.map(({ nrSsds: _, ...rest }) => ({
      targets,
      nr_xs_helpers: helpers,
      ...rest,
    })),
    disable_vfio: false,
    disable_vmd: false,
    disable_hotplug: false,
    nr_hugepages: 0,
    disable_hugepages: false,
    allow_numa_imbalance: false,
    allow_thp: false,
    control_log_mask: "INFO",
    control_log_file: "/var/log/daos/daos_server.log",
    core_dump_filter: 19,
    socket_dir: "/var/run/daos_server",
    provider,
    mgmt_svc_replicas: req.msReplicas,
    fault_cb: "",
    hyperthreads: false,
    disable_engine_auto_restart: false,
  };
  if (req.controlMetadataPath !== "") cfg.control_metadata = { path: req.controlMetadataPath };
  return cfg;
}

/** The config as YAML (the document `config generate` prints). */
export function generatedConfigYaml(cfg: GeneratedConfig): string {
  return stringify(cfg, { lineWidth: 0 });
}
