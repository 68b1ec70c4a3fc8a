/**
 * Typed, fully defaulted view of daos_server.yml (server.md §1). Field names are the camelCase
 * form of the YAML keys; `source` records where each engine came from for later messages.
 */
import type { MgmtSvcDbConfig } from "./mgmt_svc_db.ts";

/** SCM classes accepted in tier 0. */
export type ScmClass = "ram" | "dcpm";
/** Bdev classes accepted in tiers 1..3 (`malloc` is historical and rejected). */
export type BdevClass = "nvme" | "file" | "kdev";

/** MD-on-SSD role bits (server.md §1.7). */
export const ROLE_BITS = { data: 1, meta: 2, wal: 4 } as const;

/** The single SCM tier of an engine (always tier 0). */
export interface ScmTier {
  tier: number;
  class: ScmClass;
  scmMount: string;
  /** dcpm only: at most one PMem namespace device, e.g. /dev/pmem0. */
  scmList: string[];
  /** ram only: GiB; 0 = auto-sized. */
  scmSize: number;
  /** ram only; absent (null) means true. */
  scmHugepagesDisabled: boolean | null;
}

/** One bdev tier. */
export interface BdevTier {
  tier: number;
  class: BdevClass;
  bdevList: string[];
  /** file only: GiB. */
  bdevSize: number;
  bdevNumber: number;
  bdevBusidRange: string | null;
  /** Role names as written (data, meta, wal); empty = no roles. */
  bdevRoles: string[];
  /** OR of ROLE_BITS for bdevRoles. */
  roleBits: number;
}

/** Fabric settings, top level or per engine (server.md §1.3). */
export interface FabricConfig {
  provider: string;
  fabricIface: string;
  fabricIfacePort: number;
  crtTimeout: number;
  disableSrx: boolean;
  fabricAuthKey: string;
  secondaryProviderEndpoints: number[];
  bypassHealthChk: boolean;
}

/** `acceleration` engine key. */
export interface AccelerationConfig {
  engine: "none" | "spdk" | "dml";
  options: Array<"move" | "crc">;
}

/** `spdk_rpc_server` engine key. */
export interface SpdkRpcServerConfig {
  enable: boolean;
  sockAddr: string;
}

/** `bdev_auto_faulty` engine key. */
export interface BdevAutoFaultyConfig {
  enable: boolean;
  maxIoErrs: number;
  maxCsumErrs: number;
}

/** `spdk_iobuf` engine key. */
export interface SpdkIobufConfig {
  smallPoolCount: number;
  largePoolCount: number;
}

/** One `engines[]` entry after defaults and top-level propagation. */
export interface EngineConfig {
  index: number;
  targets: number;
  nrXsHelpers: number;
  firstCore: number | null;
  pinnedNumaNode: number | null;
  fabric: FabricConfig;
  logMask: string;
  logFile: string;
  envVars: string[];
  envPassThrough: string[];
  scm: ScmTier | null;
  bdevs: BdevTier[];
  acceleration: AccelerationConfig | null;
  spdkRpcServer: SpdkRpcServerConfig | null;
  bdevAutoFaulty: BdevAutoFaultyConfig | null;
  spdkIobuf: SpdkIobufConfig | null;
  modules: string;
  /** Derived: whether hotplug is enabled for this engine's bdevs. */
  enableHotplug: boolean;
  /** Derived: the system name (for -g and the superblock). */
  systemName: string;
  /** Derived: the control metadata path (MD-on-SSD), "" when unset. */
  controlMetadataPath: string;
  /** Derived: the block device mounted at controlMetadataPath; absent or "" when none. */
  controlMetadataDevice?: string;
}

/** `transport_config` (server.md §1.4). */
export interface TransportConfig {
  allowInsecure: boolean;
  clientCertDir: string;
  caCert: string;
  cert: string;
  key: string;
}

/** `control_metadata` (server.md §1.5). */
export interface ControlMetadataConfig {
  path: string;
  device: string;
  allowSpdkConfOverride: boolean;
}

/** `support_config`. */
export interface SupportConfig {
  fileTransferExec: string;
}

/** The whole daos_server.yml. */
export interface ServerConfig {
  /** Absolute path the config was loaded from ("" when built in memory). */
  path: string;
  name: string;
  mgmtSvcReplicas: string[];
  port: number;
  controlIface: string;
  /** Our own key: IP to bind and report (several servers on 127.0.0.N). "" = unset. */
  controlAddress: string;
  transportConfig: TransportConfig;
  fabric: FabricConfig;
  engines: EngineConfig[];
  bdevExclude: string[];
  disableVfio: boolean;
  disableVmd: boolean;
  disableHotplug: boolean;
  nrHugepages: number;
  disableHugepages: boolean;
  allowNumaImbalance: boolean;
  allowThp: boolean;
  systemRamReserved: number;
  kernelConfigPath: string;
  controlLogMask: string;
  controlLogFile: string;
  controlLogJson: boolean;
  helperLogFile: string;
  faultPath: string;
  faultCb: string;
  telemetryPort: number;
  coreDumpFilter: number;
  clientEnvVars: string[];
  socketDir: string;
  controlMetadata: ControlMetadataConfig;
  disableEngineAutoRestart: boolean;
  engineAutoRestartMinDelay: number;
  hyperthreads: boolean;
  supportConfig: SupportConfig;
  /** `mgmt_svc_db` (our own key): the MS database (etcd) settings, typed and defaulted. */
  mgmtSvcDb: MgmtSvcDbConfig;
  /** Notices produced while loading (deprecated keys, no redundancy, ...). */
  notices: string[];
}
