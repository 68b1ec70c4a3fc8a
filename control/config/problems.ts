/**
 * Collects every configuration problem with its file:line:col, so `config validate` can report
 * all of them at once and `loadServerConfig` can throw the first as a Fault.
 */

/** Fault codes of the `serverconfig`/`scm`/`bdev` domains used by config validation (§1.13). */
export const Code = {
  BadConfig: 701,
  BadControlPort: 703,
  BadTelemetryPort: 704,
  BadMgmtSvcReplicas: 705,
  EvenMgmtSvcReplicas: 706,
  BadProvider: 707,
  DuplicateFabric: 709,
  DuplicateLogFile: 710,
  DuplicateScmMount: 711,
  DuplicateScmDeviceList: 712,
  OverlappingBdevDeviceList: 713,
  TargetCountMismatch: 715,
  HelperStreamCountMismatch: 716,
  FaultDomainInvalid: 717,
  BothFaultPathAndCb: 722,
  FaultDomainTooManyLayers: 724,
  NrHugepagesOutOfRange: 725,
  HugepagesDisabledWithNvmeBdevs: 726,
  EngineNUMAImbalance: 728,
  ControlMetadataNoPath: 729,
  RamdiskUnderMinMem: 730,
  RamdiskOverMaxMem: 731,
  ScmDiffClass: 732,
  SysRsvdZero: 734,
  EnableHotplugDeprecated: 735,
  BdevExcludeClash: 736,
  HugepagesDisabledWithNrSet: 737,
  ScmHugeEnabled: 738,
  BadControlInterface: 739,
  ScmConfigTierMissing: 216,
  BdevAccelEngineUnknown: 307,
  BdevConfigOptFlagUnknown: 308,
  BdevConfigTierTypeMismatch: 309,
  BdevConfigRolesWithDCPM: 312,
  BdevConfigRolesBadNr: 313,
  BdevConfigRolesMissing: 314,
  BdevConfigMultiTierWithoutRoles: 315,
  BdevConfigBadNrTiersWithRoles: 316,
  BdevConfigControlMetadataNoRoles: 317,
  BdevConfigRolesNoControlMetadata: 318,
  BdevConfigRolesWalDataNoMeta: 319,
  BadVersionSoftwareDependency: 2,
  HugepagesNotSupported: 218,
} as const;

/** Fault domain for a code (§1.13 numbering). */
export function domainOf(code: number): string {
  if (code >= 700 && code < 800) return "serverconfig";
  if (code >= 300 && code < 400) return "bdev";
  if (code >= 200 && code < 300) return "scm";
  if (code >= 600 && code < 700) return "server";
  return "server";
}

/** One problem found in a config file, located at a YAML node. */
export interface ConfigProblem {
  file: string;
  /** 1-based; 0 when the problem has no position (e.g. a missing required key in an empty file). */
  line: number;
  col: number;
  code: number;
  /** Fault description text (the reference's text where there is one). */
  message: string;
  resolution: string;
}

/** Formats a problem as `file:line:col: message`. */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.col}` : p.file;
  return `${where}: ${p.message}`;
}

/** Mutable list of problems plus a position resolver for the file being read. */
export class Problems {
  readonly list: ConfigProblem[] = [];
  constructor(
    readonly file: string,
    private readonly pos: (offset: number) => { line: number; col: number },
  ) {}

  /** Records a problem at a source offset (or -1 for none). */
  add(offset: number, code: number, message: string, resolution = ""): void {
    const { line, col } = offset >= 0 ? this.pos(offset) : { line: 0, col: 0 };
    this.list.push({ file: this.file, line, col, code, message, resolution });
  }

  get empty(): boolean {
    return this.list.length === 0;
  }
}
