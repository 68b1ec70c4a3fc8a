/**
 * Faults: the control plane's structured errors (server.md intro, §1.13; dmg.md §1.2, §3.3).
 *
 * A fault prints as `<domain>: code = <n> description = "<text>"`; dmg's fatal printer adds a
 * second line `<domain>: code = <n> resolution = "<text>"` when the root cause is a fault with
 * a resolution.
 */

/** Fault domains used by the control plane (server.md §1.13). */
export type FaultDomain =
  | "general"
  | "serverconfig"
  | "server"
  | "system"
  | "storage"
  | "scm"
  | "bdev"
  | "controlmetadata"
  | "drpc"
  | "security"
  | "client"
  | "spdk"
  | "checker";

/** Fields of a fault. `reason`/`resolution` are optional explanatory texts. */
export interface FaultInit {
  domain: string;
  code: number;
  description: string;
  reason?: string;
  resolution?: string;
  cause?: unknown;
}

/** Sanitises a domain for display: `:` replaced and whitespace runs collapsed to `_`. */
export function sanitizeDomain(domain: string): string {
  return domain.replace(/:/g, "_").replace(/\s+/g, "_");
}

/** The control plane's structured error. `message` is the fault's string form. */
export class Fault extends Error {
  readonly domain: string;
  readonly code: number;
  readonly description: string;
  readonly reason: string;
  readonly resolution: string;

  constructor(init: FaultInit) {
    super(faultString(init.domain, init.code, init.description), { cause: init.cause });
    this.name = "Fault";
    this.domain = init.domain;
    this.code = init.code;
    this.description = init.description;
    this.reason = init.reason ?? "";
    this.resolution = init.resolution ?? "";
  }

  /** `<domain>: code = <n> resolution = "<text>"`, or undefined when there is no resolution. */
  resolutionLine(): string | undefined {
    if (this.resolution === "") return undefined;
    return `${sanitizeDomain(this.domain)}: code = ${this.code} resolution = "${this.resolution}"`;
  }

  /** A copy of this fault with another description (keeps domain, code, resolution). */
  withDescription(description: string): Fault {
    return new Fault({ ...this.init(), description });
  }

  /** A copy with a machine-readable reason (travels on the wire; never printed). */
  withReason(reason: string): Fault {
    return new Fault({ ...this.init(), reason, cause: this.cause });
  }

  /** A copy with another resolution. */
  withResolution(resolution: string): Fault {
    return new Fault({ ...this.init(), resolution });
  }

  private init(): FaultInit {
    return {
      domain: this.domain,
      code: this.code,
      description: this.description,
      reason: this.reason,
      resolution: this.resolution,
      cause: this.cause,
    };
  }
}

function faultString(domain: string, code: number, description: string): string {
  return `${sanitizeDomain(domain)}: code = ${code} description = "${description}"`;
}

/** True if `e` is a Fault. */
export function isFault(e: unknown): e is Fault {
  return e instanceof Fault;
}

/** True if `e` is a Fault with the given code. */
export function hasFaultCode(e: unknown, code: number): e is Fault {
  return isFault(e) && e.code === code;
}

/**
 * Stable fault code numbers by domain (server.md §1.13, dmg.md §3.3). Names follow the DAOS
 * `code` package; only numbers are part of the wire contract. Each group holds the codes of its
 * domain's numeric range, so the domain helpers below can only be handed their own codes (the
 * fault test checks every group against {@link domainOfCode}).
 */
const CODES_BY_DOMAIN = {
  // 0–6
  general: {
    Unknown: 0,
    MissingSoftwareDependency: 1,
    BadVersionSoftwareDependency: 2,
    PrivilegedHelperNotPrivileged: 3,
    PrivilegedHelperNotAvailable: 4,
    PrivilegedHelperRequestFailed: 5,
    SocketFileInUse: 6,
  },
  // 100–107
  storage: {
    StorageUnknown: 100,
    StorageAlreadyFormatted: 101,
    StorageFilesystemAlreadyMounted: 102,
    StorageDeviceAlreadyMounted: 103,
    StorageTargetAlreadyMounted: 104,
    StoragePathAccessDenied: 105,
    StorageDeviceWithFsNoMountpoint: 106,
    StorageHugepagesDisabled: 107,
  },
  // 200–218
  scm: {
    ScmUnknown: 200,
    ScmFormatInvalidSize: 201,
    ScmFormatInvalidDeviceCount: 202,
    ScmFormatMissingMountpoint: 203,
    ScmFormatMissingDevice: 204,
    ScmFormatMissingParam: 205,
    ScmFormatConflictingParam: 206,
    ScmPathAccessDenied: 207,
    ScmDiscoveryFailed: 208,
    ScmDuplicatesInDeviceList: 209,
    ScmNoDevicesMatchFilter: 210,
    ScmNoPMem: 211,
    ScmBadRegion: 212,
    ScmInvalidPMem: 213,
    ScmRamdiskLowMem: 214,
    ScmRamdiskBadSize: 215,
    ScmConfigTierMissing: 216,
    ScmKernelConfigUnavailable: 217,
    ScmHugepagesNotSupported: 218,
  },
  // 300–319
  bdev: {
    BdevUnknown: 300,
    BdevFormatUnknownClass: 301,
    BdevFormatFailure: 302,
    BdevBadPCIAddress: 303,
    BdevNotFound: 304,
    BdevDuplicatesInDeviceList: 305,
    BdevNoDevicesMatchFilter: 306,
    BdevAccelEngineUnknown: 307,
    BdevConfigOptFlagUnknown: 308,
    BdevConfigTierTypeMismatch: 309,
    BdevNonRootVFIODisable: 310,
    BdevNoIOMMU: 311,
    BdevConfigRolesWithDCPM: 312,
    BdevConfigRolesBadNr: 313,
    BdevConfigRolesMissing: 314,
    BdevConfigMultiTierWithoutRoles: 315,
    BdevConfigBadNrTiersWithRoles: 316,
    BdevConfigControlMetadataNoRoles: 317,
    BdevConfigRolesNoControlMetadata: 318,
    BdevConfigRolesWalDataNoMeta: 319,
  },
  // 400–404
  system: {
    SystemUnknown: 400,
    SystemBadFaultDomainDepth: 401,
    SystemPoolLocked: 402,
    SystemJoinReplaceRankNotFound: 403,
    SystemJoinMemberExists: 404,
  },
  // 500–511
  client: {
    ClientUnknown: 500,
    ClientConfigBadControlPort: 501,
    ClientConfigBadAccessPoints: 502,
    ClientConfigEmptyHostList: 503,
    ClientConnectionBadHost: 504,
    ClientConnectionNoRoute: 505,
    ClientConnectionRefused: 506,
    ClientConnectionClosed: 507,
    ClientConnectionTimedOut: 508,
    ClientFormatRunningSystem: 509,
    ClientRpcTimeout: 510,
    ClientConfigVMDImbalance: 511,
  },
  // 600–624
  server: {
    ServerUnknown: 600,
    ServerScmUnmanaged: 601,
    ServerIommuDisabled: 602,
    ServerWrongSystem: 603,
    ServerPoolScmTooSmall: 604,
    ServerPoolNvmeTooSmall: 605,
    ServerPoolInvalidRanks: 606,
    ServerPoolInvalidNumRanks: 607,
    ServerPoolInvalidServiceReps: 608,
    ServerPoolDuplicateLabel: 609,
    ServerHarnessNotStarted: 610,
    ServerDataPlaneNotStarted: 611,
    ServerInstancesNotStopped: 612,
    ServerConfigInvalidNetDevClass: 613,
    ServerVfioDisabled: 614,
    ServerPoolNoLabel: 615,
    ServerIncompatibleComponents: 616,
    ServerNoCompatibilityInsecure: 617,
    ServerPoolHasContainers: 618,
    ServerPoolMemRatioNoRoles: 619,
    ServerBadFaultDomainLabels: 620,
    ServerPoolTooFewFaultDomains: 621,
    ServerJoinReplaceEnabledPoolRank: 622,
    ServerRankAdminExcluded: 623,
    ServerTransparentHugepageEnabled: 624,
  },
  // 700–740
  serverconfig: {
    ServerConfigUnknown: 700,
    ServerBadConfig: 701,
    ServerNoConfigPath: 702,
    ServerConfigBadControlPort: 703,
    ServerConfigBadTelemetryPort: 704,
    ServerConfigBadMgmtSvcReplicas: 705,
    ServerConfigEvenMgmtSvcReplicas: 706,
    ServerConfigBadProvider: 707,
    ServerConfigNoEngines: 708,
    ServerConfigDuplicateFabric: 709,
    ServerConfigDuplicateLogFile: 710,
    ServerConfigDuplicateScmMount: 711,
    ServerConfigDuplicateScmDeviceList: 712,
    ServerConfigOverlappingBdevDeviceList: 713,
    ServerConfigBdevCountMismatch: 714,
    ServerConfigTargetCountMismatch: 715,
    ServerConfigHelperStreamCountMismatch: 716,
    ServerConfigFaultDomainInvalid: 717,
    ServerConfigFaultCallbackNotFound: 718,
    ServerConfigFaultCallbackInsecure: 719,
    ServerConfigFaultCallbackBadPerms: 720,
    ServerConfigFaultCallbackFailed: 721,
    ServerConfigBothFaultPathAndCb: 722,
    ServerConfigFaultCallbackEmpty: 723,
    ServerConfigFaultDomainTooManyLayers: 724,
    ServerConfigNrHugepagesOutOfRange: 725,
    ServerConfigHugepagesDisabledWithNvmeBdevs: 726,
    ServerConfigVMDSettingDuplicate: 727,
    ServerConfigEngineNUMAImbalance: 728,
    ServerConfigControlMetadataNoPath: 729,
    ServerConfigRamdiskUnderMinMem: 730,
    ServerConfigRamdiskOverMaxMem: 731,
    ServerConfigScmDiffClass: 732,
    ServerConfigEngineBdevRolesMismatch: 733,
    ServerConfigSysRsvdZero: 734,
    ServerConfigEnableHotplugDeprecated: 735,
    ServerConfigBdevExcludeClash: 736,
    ServerConfigHugepagesDisabledWithNrSet: 737,
    ServerConfigScmHugeEnabled: 738,
    ServerConfigBadControlInterface: 739,
    ServerConfigControlInterfaceMismatch: 740,
  },
  // 800–804 (only the base is named here)
  spdk: {
    SpdkUnknown: 800,
  },
  // 900–903
  security: {
    SecurityUnknown: 900,
    SecurityMissingCertFile: 901,
    SecurityUnreadableCertFile: 902,
    SecurityInvalidCert: 903,
  },
  // 1000–1001 (only the base is named here)
  controlmetadata: {
    ControlMetadataUnknown: 1000,
  },
  // 1100–1103 (only the base is named here)
  checker: {
    CheckerUnknown: 1100,
  },
} as const;

/** A fault domain that has codes in the catalogue. */
export type CatalogueDomain = keyof typeof CODES_BY_DOMAIN;

/** The catalogue grouped by domain (read-only; for tests and diagnostics). */
export const faultCodesByDomain: {
  readonly [D in CatalogueDomain]: Readonly<Record<string, number>>;
} = CODES_BY_DOMAIN;

/** Every catalogue code by name, e.g. `FaultCode.ScmNoPMem === 211`. */
export const FaultCode = {
  ...CODES_BY_DOMAIN.general,
  ...CODES_BY_DOMAIN.storage,
  ...CODES_BY_DOMAIN.scm,
  ...CODES_BY_DOMAIN.bdev,
  ...CODES_BY_DOMAIN.system,
  ...CODES_BY_DOMAIN.client,
  ...CODES_BY_DOMAIN.server,
  ...CODES_BY_DOMAIN.serverconfig,
  ...CODES_BY_DOMAIN.spdk,
  ...CODES_BY_DOMAIN.security,
  ...CODES_BY_DOMAIN.controlmetadata,
  ...CODES_BY_DOMAIN.checker,
} as const;

/** Name of a fault code in {@link FaultCode}. */
export type FaultCodeName = keyof typeof FaultCode;

/** Names of the codes of one domain, e.g. `FaultCodeOf<"scm">` is `"ScmUnknown" | …`. */
export type FaultCodeOf<D extends CatalogueDomain> = keyof (typeof CODES_BY_DOMAIN)[D] & string;

/** The domain a code belongs to, from its numeric range (server.md §1.13). */
export function domainOfCode(code: number): FaultDomain {
  if (code < 100) return "general";
  const ranges: [number, FaultDomain][] = [
    [200, "storage"],
    [300, "scm"],
    [400, "bdev"],
    [500, "system"],
    [600, "client"],
    [700, "server"],
    [800, "serverconfig"],
    [900, "spdk"],
    [1000, "security"],
    [1100, "controlmetadata"],
  ];
  for (const [below, domain] of ranges) if (code < below) return domain;
  return "checker";
}

/** Builds a fault from a catalogue code; the domain follows from the code's range. */
export function makeFault(
  code: FaultCodeName | number,
  description: string,
  resolution = "",
  cause?: unknown,
): Fault {
  const n = typeof code === "number" ? code : FaultCode[code];
  return new Fault({ domain: domainOfCode(n), code: n, description, resolution, cause });
}

/** Builds a fault of one domain from one of that domain's code names. */
export type DomainFaultBuilder<D extends CatalogueDomain> = (
  code: FaultCodeOf<D>,
  description: string,
  resolution?: string,
  cause?: unknown,
) => Fault;

/**
 * The fault builder of `domain`. Its code names are typed to the domain's group; the range is
 * checked again at run time, so a code filed under the wrong group fails at its first use
 * instead of printing a domain that contradicts its number.
 */
function domainFault<D extends CatalogueDomain>(domain: D): DomainFaultBuilder<D> {
  const group: Readonly<Record<string, number>> = CODES_BY_DOMAIN[domain];
  return (code, description, resolution = "", cause) => {
    const n = group[code];
    if (n === undefined || domainOfCode(n) !== domain) {
      throw new Error(`fault code ${String(code)} (${n}) is not in the ${domain} range`);
    }
    return new Fault({ domain, code: n, description, resolution, cause });
  };
}

/** General faults (0–99), e.g. `generalFault("SocketFileInUse", …)`. */
export const generalFault: DomainFaultBuilder<"general"> = domainFault("general");
/** Storage faults (100–199). */
export const storageFault: DomainFaultBuilder<"storage"> = domainFault("storage");
/** SCM faults (200–299). */
export const scmFault: DomainFaultBuilder<"scm"> = domainFault("scm");
/** Bdev faults (300–399). */
export const bdevFault: DomainFaultBuilder<"bdev"> = domainFault("bdev");
/** System faults (400–499). */
export const systemFault: DomainFaultBuilder<"system"> = domainFault("system");
/** Client faults (500–599). */
export const clientFault: DomainFaultBuilder<"client"> = domainFault("client");
/** Server faults (600–699). */
export const serverFault: DomainFaultBuilder<"server"> = domainFault("server");
/** Server config faults (700–799). */
export const serverConfigFault: DomainFaultBuilder<"serverconfig"> = domainFault("serverconfig");
/** Security faults (900–999). */
export const securityFault: DomainFaultBuilder<"security"> = domainFault("security");
/** Control metadata faults (1000–1099). */
export const controlMetadataFault: DomainFaultBuilder<"controlmetadata"> = domainFault(
  "controlmetadata",
);

/**
 * Rebuilds a fault exactly as a peer sent it (error_codec). Domain and code are taken as given,
 * not derived: a newer peer may send codes this catalogue does not name, and they must print
 * as the peer printed them.
 */
export function faultFromWire(init: FaultInit): Fault {
  return new Fault(init);
}

function joinRanks(label: string, ranks: string, plural: boolean): string {
  return `${plural ? label + "s" : label} [${ranks}]`;
}

/**
 * Factories for the faults whose texts the specs fix. Others: {@link makeFault}.
 * Each returns a new Fault; arguments are the variable parts of the description.
 */
export const faults = {
  /** 701: any config validation error without a resolution of its own (server.md §1.1). */
  ServerBadConfig: (detail: string, cause?: unknown) =>
    makeFault(
      "ServerBadConfig",
      `invalid configuration: ${detail}`,
      "check the configuration file and fix the reported problem",
      cause,
    ),
  /** 702: no config file could be found. */
  ServerNoConfigPath: () =>
    makeFault(
      "ServerNoConfigPath",
      "configuration file path not set",
      "supply the path to a server configuration file when restarting the server",
    ),
  /** 623: a command tried to operate on administratively excluded ranks (dmg.md §5.2). */
  ServerRankAdminExcluded: (ranks: string, plural: boolean) =>
    makeFault(
      "ServerRankAdminExcluded",
      `${joinRanks("rank", ranks, plural)} ${
        plural ? "are" : "is"
      } administratively excluded and cannot be operated on by this command`,
      "re-run the command without requesting the administratively excluded rank(s)",
    ),
  /** 603: request system name differs from the running system's (dmg.md §2.4). */
  ServerWrongSystem: (requested: string, actual: string) =>
    makeFault(
      "ServerWrongSystem",
      `request system does not match running system (${requested} != ${actual})`,
      `ensure that the client system name (${requested}) matches the server system name (${actual})`,
    ),
  /** 611: data plane (engine) not started. */
  ServerDataPlaneNotStarted: () =>
    makeFault(
      "ServerDataPlaneNotStarted",
      "DAOS I/O Engine instance not started or not responding on dRPC",
      "retry the operation or check server logs for more details",
    ),
  /** 501: client config `port` is invalid (dmg.md §2.2). */
  ClientConfigBadControlPort: () =>
    makeFault(
      "ClientConfigBadControlPort",
      "invalid control port in configuration",
      "specify a nonzero control port in configuration (current default is 10001)",
    ),
  /** 503: neither config nor `-l` supplied any host (dmg.md §2.3). */
  ClientConfigEmptyHostList: () =>
    makeFault(
      "ClientConfigEmptyHostList",
      "empty hostlist parameter in configuration",
      "specify a non-empty list of DAOS server addresses in configuration",
    ),
  /** 504: host name could not be resolved. */
  ClientConnectionBadHost: (target: string) =>
    makeFault(
      "ClientConnectionBadHost",
      `the server address (${target}) could not be resolved`,
      "check the hostname in the configuration and verify that it resolves to an address",
    ),
  /** 505: no route to host. */
  ClientConnectionNoRoute: (target: string) =>
    makeFault(
      "ClientConnectionNoRoute",
      `the server could not be reached at the configured address (${target})`,
      "verify the server address in the configuration and check the network",
    ),
  /** 506: connection refused. */
  ClientConnectionRefused: (target: string) =>
    makeFault(
      "ClientConnectionRefused",
      `the server at ${target} refused the connection`,
      "verify the server address and port, and that the server is running",
    ),
  /** 507: connection closed before a request was accepted. */
  ClientConnectionClosed: (target: string) =>
    makeFault(
      "ClientConnectionClosed",
      `the server at ${target} closed the connection without accepting a request`,
      "verify that the client and server security settings match",
    ),
  /** 508: connection attempt timed out. */
  ClientConnectionTimedOut: (target: string) =>
    makeFault(
      "ClientConnectionTimedOut",
      `the connection to the server at ${target} timed out`,
      "verify the server address and that the server is running",
    ),
  /** 509: storage format on a running system (dmg.md §5.9). */
  ClientFormatRunningSystem: () =>
    makeFault(
      "ClientFormatRunningSystem",
      "storage format invoked on a running system",
      "stop and erase the system, then retry the format operation",
    ),
  /** 510: whole request deadline passed (dmg.md §2.4). */
  ClientRpcTimeout: (requestType: string, after: string) =>
    makeFault(
      "ClientRpcTimeout",
      `the ${requestType} request timed out after ${after}`,
      "retry the request or check server logs for more information",
    ),
  /** 903: invalid (e.g. expired) certificate. */
  SecurityInvalidCert: (detail: string) =>
    makeFault(
      "SecurityInvalidCert",
      `invalid certificate: ${detail}`,
      "verify the certificate's validity dates and that it is signed by the configured CA",
    ),
} as const;

/** DAOS error numbers (dmg.md §8.1; `daos_errno.h`), as positive values. */
export const DER = {
  NO_PERM: 1001,
  NO_HDL: 1002,
  INVAL: 1003,
  EXIST: 1004,
  NONEXIST: 1005,
  UNREACH: 1006,
  NOSPACE: 1007,
  ALREADY: 1008,
  NOMEM: 1009,
  NOSYS: 1010,
  TIMEDOUT: 1011,
  BUSY: 1012,
  AGAIN: 1013,
  PROTO: 1014,
  UNINIT: 1015,
  TRUNC: 1016,
  OVERFLOW: 1017,
  CANCELED: 1018,
  OOG: 1019,
  HG: 1020,
  UNREG: 1021,
  ADDRSTR_GEN: 1022,
  PMIX: 1023,
  IVCB_FORWARD: 1024,
  MISC: 1025,
  BADPATH: 1026,
  NOTDIR: 1027,
  CORPC_INCOMPLETE: 1028,
  NO_RAS_RANK: 1029,
  NOTATTACH: 1030,
  MISMATCH: 1031,
  EXCLUDED: 1032,
  NOREPLY: 1033,
  DOS: 1034,
  BAD_TARGET: 1035,
  GRPVER: 1036,
  // The DAOS range: those our engine returns.
  IO: 2001,
  SHUTDOWN: 2017,
  CSUM: 2021,
  DF_INVAL: 2022,
  DF_INCOMPT: 2023,
} as const;

/** Name of a DER code. */
export type DerName = keyof typeof DER;

const derDescriptions: Record<DerName, string> = {
  NO_PERM: "Operation not permitted",
  NO_HDL: "Invalid handle",
  INVAL: "Invalid parameters",
  EXIST: "Entity already exists",
  NONEXIST: "The specified entity does not exist",
  UNREACH: "Unreachable node",
  NOSPACE: "No space on storage target",
  ALREADY: "Operation already performed",
  NOMEM: "Out of memory",
  NOSYS: "Function not implemented",
  TIMEDOUT: "Time out",
  BUSY: "Device or resource busy",
  AGAIN: "Try again",
  PROTO: "Incompatible protocol",
  UNINIT: "Device or resource not initialized",
  TRUNC: "Buffer too short",
  OVERFLOW: "Data too long for defined data type or buffer size",
  CANCELED: "Operation canceled",
  OOG: "Out-Of-Group or member list",
  HG: "Transport layer mercury error",
  UNREG: "Unregistered RPC",
  ADDRSTR_GEN: "Failed to generate an address string",
  PMIX: "PMIx layer error",
  IVCB_FORWARD: "IV callback - cannot handle locally",
  MISC: "Miscellaneous error",
  BADPATH: "Bad path name",
  NOTDIR: "Not a directory",
  CORPC_INCOMPLETE: "Collective RPC failed",
  NO_RAS_RANK: "No rank is subscribed to RAS",
  NOTATTACH: "Service group not attached",
  MISMATCH: "Version mismatch",
  EXCLUDED: "Rank has been excluded",
  NOREPLY: "User provided RPC handler did not send reply back",
  DOS: "Denial of service",
  BAD_TARGET: "Incorrect target for the RPC",
  GRPVER: "Group versioning mismatch",
  IO: "Generic I/O error",
  SHUTDOWN: "Service should shut down",
  CSUM: "Checksum error",
  DF_INVAL: "Unsupported durable format",
  DF_INCOMPT: "Incompatible durable format version",
};

/** A DAOS status error, printed `DER_<NAME>(-<code>): <description>` (dmg.md §3.2). */
export class DaosStatusError extends Error {
  /** Negative DER code, e.g. -1005. */
  readonly status: number;

  /** What the status is about (e.g. which tier had no space), "" when nothing more is known. */
  readonly detail: string;

  constructor(status: number, cause?: unknown, detail = "") {
    super(daosStatusString(status) + (detail === "" ? "" : `: ${detail}`), { cause });
    this.name = "DaosStatusError";
    this.status = status > 0 ? -status : status;
    this.detail = detail;
  }
}

/** `DER_<NAME>(-<code>): <description>`; unknown codes print `DER_UNKNOWN(<code>): Unknown error code <code>`. */
export function daosStatusString(status: number): string {
  const neg = status > 0 ? -status : status;
  const entry = (Object.entries(DER) as [DerName, number][]).find(([, v]) => v === -neg);
  if (entry === undefined) return `DER_UNKNOWN(${neg}): Unknown error code ${neg}`;
  return `DER_${entry[0]}(${neg}): ${derDescriptions[entry[0]]}`;
}

/** True if `e` is a DAOS status error. */
export function isDaosStatus(e: unknown): e is DaosStatusError {
  return e instanceof DaosStatusError;
}

/** Follows `cause` links to the innermost error (the "root cause" of dmg.md §1.2). */
export function rootCause(e: unknown): unknown {
  let cur = e;
  for (let i = 0; i < 64; i++) {
    if (!(cur instanceof Error) || cur.cause === undefined || isFault(cur) || isDaosStatus(cur)) {
      return cur;
    }
    cur = cur.cause;
  }
  return cur;
}

/**
 * JSON envelope status for an error (dmg.md §4.6): 0 without error, the negative DER code when
 * the root cause is a DAOS status, otherwise -1025 (DER_MISC).
 */
export function envelopeStatus(e: unknown): number {
  if (e === undefined || e === null) return 0;
  const root = rootCause(e);
  return isDaosStatus(root) ? root.status : -DER.MISC;
}

/**
 * Wraps an error with a prefix (Go `errors.Wrap` style: `<prefix>: <inner>`), keeping it as
 * `cause`. The result's root cause is still the inner error.
 */
export function wrapError(e: unknown, prefix: string): Error {
  return new Error(`${prefix}: ${errorText(e)}`, { cause: e });
}

/** Text of any thrown value. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
