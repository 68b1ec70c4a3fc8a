/**
 * The per-host StorageFormat flow (server.md §3.3): control metadata, SCM per instance
 * (refusing running instances unless reformat), bdevs and daos_nvme.conf only for instances
 * without a superblock, then "storage ready" to every instance that formatted cleanly.
 */
import type { EngineConfig, ServerConfig } from "../config/types.ts";
import { Fault, scmFault, serverFault } from "../lib/fault.ts";
import { bdevSpaceFaults, type DeviceResult, formatBdevTier } from "./bdev_format.ts";
import { engineMetadataDir, nvmeConfPath } from "./engine_paths.ts";
import type { FormatGate } from "./format_state.ts";
import { needsMetaFormat, needsScmFormat } from "./format_state.ts";
import { type KernelConfig, readKernelConfig } from "./kernel_config.ts";
import { ramdiskGiB } from "./ramdisk_size.ts";
import { readMeminfo, type SysMemInfo } from "../sysinfo/meminfo.ts";
import { formatScm } from "./scm_format.ts";
import { bdevOwnerOf, engineFormatHazards, resolvedStorageOverlaps } from "./format_safety.ts";
import { controlMetadataHazard } from "./metadata_safety.ts";
import { newSuperblock, readSuperblock, writeSuperblock } from "./superblock.ts";
import { writeNvmeConf } from "./nvme_conf.ts";
import { formatControlMetadata } from "./control_metadata.ts";
import { hostFaultDomain } from "../config/fault_domain.ts";

/** ctl.ResponseStatus names used in results. */
export type FormatStatus = "CTL_SUCCESS" | "CTL_ERR_SCM" | "CTL_ERR_NVME" | "CTL_ERR_CONF";

/** One SCM mount result (→ ctl.ScmMountResult). */
export interface ScmFormatResult {
  instanceIdx: number;
  mountPoint: string;
  status: FormatStatus;
  error: string;
  info: string;
}

/** One bdev result (→ ctl.NvmeControllerResult); `device` is the PCI address or path. */
export interface BdevFormatResult {
  instanceIdx: number;
  device: string;
  roleBits: number;
  status: FormatStatus;
  error: string;
  info: string;
}

/** What the flow returns. */
export interface FormatOutcome {
  scm: ScmFormatResult[];
  bdevs: BdevFormatResult[];
}

/** An engine instance as the format flow sees it. */
export interface FormatInstance {
  config: EngineConfig;
  /** True while the engine process runs. */
  isRunning(): boolean;
  /** Stops the engine hard (SIGKILL) before a reformat. */
  kill(): Promise<void>;
}

/** Request flags (ctl.StorageFormatReq). */
export interface FormatRequest {
  reformat: boolean;
  replace: boolean;
}

/** Host facts the flow needs; injectable for tests. */
export interface FormatEnv {
  hostname: string;
  gate: FormatGate;
  memInfo?: SysMemInfo;
  kernelConfig?: KernelConfig;
  vmdEnabled?: boolean;
  /** Host fault domain for new superblocks; default fault_path, fault_cb's output or `/<hostname>`. */
  hostFaultDomain?: string;
}

/** Text of fault 101 (already formatted, no --force). */
export const ALREADY_FORMATTED = "format request for device with an existing filesystem signature";
/** Info of an instance skipped because its SCM is formatted. */
export const SCM_ALREADY_FORMATTED = "SCM is already formatted";

function msg(e: unknown): string {
  return e instanceof Fault ? e.description : (e as Error).message;
}

async function formatMetadata(cfg: ServerConfig, reformat: boolean): Promise<void> {
  const cm = cfg.controlMetadata;
  if (cm.path === "") return;
  const needs = await Promise.all(cfg.engines.map(needsMetaFormat));
  if (!reformat && !needs.some((n) => n)) return;
  await formatControlMetadata(cm, cfg.engines.map((e) => e.index));
}

/** Checks Σ RAM-disk sizes fit 90 % of MemAvailable (§3.3 step 3). */
function checkRamdiskFits(sizes: number[], mem: SysMemInfo): void {
  const want = sizes.reduce((a, b) => a + b, 0) * (1 << 30);
  const avail = mem.memAvailableKb * 1024;
  if (want > avail * 0.9) {
    throw scmFault(
      "ScmRamdiskLowMem",
      `Total memory (RAM) insufficient for creating ram-disks: need ${
        sizes.reduce((a, b) => a + b, 0)
      } GiB, 90 % of MemAvailable is ${(avail * 0.9 / (1 << 30)).toFixed(1)} GiB`,
      "lower scm_size or free memory on this host",
    );
  }
}

/** Runs StorageFormat for this host's instances (never throws for per-instance failures). */
export async function formatHostStorage(
  cfg: ServerConfig,
  instances: FormatInstance[],
  req: FormatRequest,
  env: FormatEnv,
): Promise<FormatOutcome> {
  const out: FormatOutcome = { scm: [], bdevs: [] };
  if (instances.length === 0) return out;
  const mem = env.memInfo ?? await readMeminfo();
  const kcfg = env.kernelConfig ?? await readKernelConfig(cfg.kernelConfigPath);

  // Before any destructive step (metadata, unmount, bdev truncation): if any instance's storage
  // holds what is not ours (or is a system path), nothing on this host is touched.
  if (await refuseHazards(cfg, instances, req.reformat, out)) return out;

  let metaFormatted = false;
  try {
    const hadMeta = cfg.controlMetadata.path !== "";
    await formatMetadata(cfg, req.reformat);
    metaFormatted = hadMeta;
  } catch (e) {
    for (const i of instances) {
      out.scm.push(scmResult(i.config, "CTL_ERR_SCM", msg(e), ""));
    }
    return out;
  }

  const needs = await Promise.all(
    instances.map(async (i) => req.reformat || metaFormatted || await needsScmFormat(i.config)),
  );
  if (req.replace && !needs.some((n) => n)) {
    throw serverFault(
      "ServerUnknown",
      "format replace option only valid if at least one engine requires scm-format but currently no engines need scm-format",
    );
  }
  const sizes: number[] = [];
  for (const i of instances) {
    const scm = i.config.scm;
    sizes.push(scm?.class === "ram" ? ramdiskGiB(cfg, scm.scmSize, mem) : 0);
  }
  // Every RAM-disk about to be made must fit (tmpfs accepts any size and the engine would be
  // OOM-killed later), also when other engines keep theirs (their use is out of MemAvailable).
  checkRamdiskFits(sizes.filter((_, k) => needs[k]), mem);

  const scmOk = await Promise.all(instances.map(async (inst, k) => {
    const e = inst.config;
    if (!needs[k]) {
      if (!needs.some((n) => n)) {
        out.scm.push(
          scmResult(e, "CTL_ERR_SCM", `${ALREADY_FORMATTED} (retry with --force to reformat)`, ""),
        );
        return false;
      }
      out.scm.push(scmResult(e, "CTL_SUCCESS", "", SCM_ALREADY_FORMATTED));
      return "skipped" as const;
    }
    if (inst.isRunning()) {
      if (!req.reformat) {
        out.scm.push(
          scmResult(
            e,
            "CTL_ERR_SCM",
            `instance ${e.index}: can't format storage of running instance`,
            "",
          ),
        );
        return false;
      }
      await inst.kill();
    }
    try {
      await formatScm(e, sizes[k], kcfg, req.reformat);
      out.scm.push(scmResult(e, "CTL_SUCCESS", "", ""));
      return true;
    } catch (err) {
      out.scm.push(scmResult(e, "CTL_ERR_SCM", msg(err), ""));
      return false;
    }
  }));

  const ready: number[] = [];
  let domain: string | undefined;
  for (const [k, inst] of instances.entries()) {
    const e = inst.config;
    const ok = scmOk[k];
    if (ok === false) {
      if (e.bdevs.length > 0) {
        out.bdevs.push(
          bdevSkip(e, `NVMe format skipped on instance ${e.index}, SCM format failed`),
        );
      }
      continue;
    }
    if (cfg.disableHugepages) {
      out.bdevs.push(
        bdevSkip(
          e,
          `NVMe format skipped on instance ${e.index}, use of hugepages disabled in config`,
        ),
      );
    } else if (ok === "skipped" && !metaFormatted) {
      if (e.bdevs.length > 0) {
        out.bdevs.push(
          bdevSkip(e, `NVMe format skipped on instance ${e.index}, SCM was not formatted`),
        );
      }
      continue;
    } else if (!(await bdevFormat(e, env, out, req.reformat))) continue;
    try {
      domain ??= env.hostFaultDomain ?? await hostFaultDomain(cfg, env.hostname);
      await ensureSuperblock(e, domain);
    } catch (err) {
      const r = out.scm.find((x) => x.instanceIdx === e.index);
      if (r) Object.assign(r, { status: "CTL_ERR_SCM", error: msg(err) });
      continue;
    }
    ready.push(e.index);
  }
  for (const idx of ready) env.gate.storageReady(idx, { replace: req.replace });
  return out;
}

async function bdevFormat(
  e: EngineConfig,
  env: FormatEnv,
  out: FormatOutcome,
  force: boolean,
): Promise<boolean> {
  if (e.bdevs.length === 0) return true;
  // Only when the instance has no superblock (§3.3 step 4): a reformat removed the tmpfs, so
  // this is true after every SCM format without MD-on-SSD.
  // A corrupt superblock is an error, not "absent": formatting over it would hand the engine a
  // new identity (UUID) and lose its rank; the fault says to use --force.
  let sb;
  try {
    sb = await readSuperblock(engineMetadataDir(e));
  } catch (err) {
    out.bdevs.push({
      instanceIdx: e.index,
      device: engineMetadataDir(e),
      roleBits: 0,
      status: "CTL_ERR_NVME",
      error: msg(err),
      info: "",
    });
    return false;
  }
  if (sb !== null) return true;
  let ok = true;
  const results: DeviceResult[] = [];
  const owner = await bdevOwnerOf(e);
  for (const t of e.bdevs) results.push(...await formatBdevTier(t, force, owner));
  for (const r of results) {
    if (r.error !== "") ok = false;
    out.bdevs.push({
      instanceIdx: e.index,
      device: r.device,
      roleBits: r.roleBits,
      status: r.error === "" ? "CTL_SUCCESS" : "CTL_ERR_NVME",
      error: r.error,
      info: "",
    });
  }
  if (!ok) return false;
  const path = nvmeConfPath(e);
  if (path !== null) {
    try {
      await writeNvmeConf(path, e, { hostname: env.hostname, vmdEnabled: env.vmdEnabled ?? false });
    } catch (err) {
      out.bdevs.push({
        instanceIdx: e.index,
        device: path,
        roleBits: 0,
        status: "CTL_ERR_NVME",
        error: `writing ${path} failed: ${msg(err)}`,
        info: "",
      });
      return false;
    }
  }
  return true;
}

/** A fault as one result line: description plus the fix. */
function withFix(f: Fault): string {
  return f.resolution === "" ? f.description : `${f.description} (${f.resolution})`;
}

/**
 * Checks every instance's storage with {@link engineFormatHazards}; on any hazard fills `out`
 * (the hazards per instance, the other instances as refused too) and returns true. Bdevs are
 * checked only where format may reach them: --force, SCM unformatted, or MD-on-SSD.
 */
async function refuseHazards(
  cfg: ServerConfig,
  instances: FormatInstance[],
  force: boolean,
  out: FormatOutcome,
): Promise<boolean> {
  // Host-wide: areas that share a path or nest (also through symlinks) would destroy each
  // other; not even --force formats them.
  const overlap = (await resolvedStorageOverlaps(cfg))[0];
  if (overlap) {
    const text = `storage format refused: ${overlap.message} (${overlap.resolution})`;
    for (const i of instances) out.scm.push(scmResult(i.config, "CTL_ERR_SCM", text, ""));
    return true;
  }
  // Host-wide: the control metadata device/path (MD-on-SSD) is formatted before any engine.
  const meta = await controlMetadataHazard(cfg.controlMetadata, force);
  if (meta) {
    for (const i of instances) out.scm.push(scmResult(i.config, "CTL_ERR_SCM", withFix(meta), ""));
    return true;
  }
  const hazards = await Promise.all(instances.map(async (i) => {
    const bdevs = force || cfg.controlMetadata.path !== "" || await needsScmFormat(i.config);
    const h = await engineFormatHazards(i.config, force, bdevs);
    // Space too: a tier that cannot fit would leave SCM formatted and the bdevs missing.
    if (h.length > 0 || !bdevs) return h;
    for (const t of i.config.bdevs) {
      for (const s of await bdevSpaceFaults(t)) {
        h.push({ kind: "bdev", path: s.device, fault: s.fault });
      }
    }
    return h;
  }));
  if (hazards.every((h) => h.length === 0)) return false;
  const bad = instances.flatMap((inst, k) => hazards[k].length > 0 ? [inst.config.index] : []);
  for (const [k, inst] of instances.entries()) {
    const e = inst.config;
    const h = hazards[k];
    const scm = h.find((x) => x.kind === "scm");
    const error = scm
      ? withFix(scm.fault)
      : h.length > 0
      ? `instance ${e.index}: storage format refused, a bdev is not safe to format (see its NVMe result)`
      : `instance ${e.index}: storage format refused, storage of instance ${
        bad.join(", ")
      } is not safe to format`;
    out.scm.push(scmResult(e, "CTL_ERR_SCM", error, ""));
    for (const b of h.filter((x) => x.kind === "bdev")) {
      out.bdevs.push({
        instanceIdx: e.index,
        device: b.path,
        roleBits: e.bdevs.find((t) => t.bdevList.includes(b.path))?.roleBits ?? 0,
        status: "CTL_ERR_NVME",
        error: withFix(b.fault),
        info: "",
      });
    }
  }
  return true;
}

/** Creates the superblock after format when missing (§2.1: rank null, validrank false). */
async function ensureSuperblock(e: EngineConfig, faultDomain: string): Promise<void> {
  const dir = engineMetadataDir(e);
  // Throws on a corrupt superblock (never overwritten with a new identity without --force).
  if ((await readSuperblock(dir)) !== null) return;
  await writeSuperblock(dir, newSuperblock(e.systemName, faultDomain));
}

function scmResult(
  e: EngineConfig,
  status: FormatStatus,
  error: string,
  info: string,
): ScmFormatResult {
  return { instanceIdx: e.index, mountPoint: e.scm?.scmMount ?? "", status, error, info };
}

// The reference reports a skipped NVMe format with PCI address "<nil>" (dmg hides it).
function bdevSkip(e: EngineConfig, info: string): BdevFormatResult {
  return {
    instanceIdx: e.index,
    device: "<nil>",
    roleBits: 0,
    status: "CTL_SUCCESS",
    error: "",
    info,
  };
}
