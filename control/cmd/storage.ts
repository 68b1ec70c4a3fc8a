/**
 * `daos_server scm scan|prepare|reset`, `daos_server nvme scan|prepare|reset` and the
 * deprecated `daos_server storage scan|prepare` (reference: cmd/daos_server/storage_*.go).
 *
 * Scans are real and local: NVMe from sysfs (every NVMe PCI device the kernel driver holds),
 * PMem from libnvdimm's sysfs (/sys/bus/nd), memory from /proc/meminfo. They need no SPDK, so
 * `nvme scan` does not bind devices first (the reference's prepare-scan-reset dance; its
 * --skip-prep is accepted and changes nothing). Prepare and reset do what the reference's
 * backends do where the tools exist (SPDK's setup.sh for NVMe) and otherwise fail with the
 * reference's faults: no PMem → storage fault 211; SPDK not installed → fault 1.
 */
import type { Command } from "commander";
import { create } from "@bufbuild/protobuf";
import { ScmNamespaceSchema, type StorageScanResp } from "../../proto/gen/ts/ctl/storage_pb.ts";
import { isPciAddress } from "../config/schema.ts";
import type { ServerConfig } from "../config/types.ts";
import { storageScan } from "../ctl/storage_scan.ts";
import { type Fault, generalFault, makeFault, scmFault, wrapError } from "../lib/fault.ts";
import { listDir } from "../sysinfo/sysfs.ts";
import type { CmdContext, PmemFacts } from "./context.ts";
import { optionalConfig, type Runner, uintArg } from "./runner.ts";
import {
  formatNvmeControllers,
  formatScm,
  formatStorageScan,
  storageScanJson,
} from "./storage_print.ts";

/** The reference's warning before PMem goals and namespaces are changed. */
export const MSG_STORAGE_PREPARE_WARN = "Memory allocation goals for PMem will be changed and " +
  "namespaces modified, this may be a destructive operation. Please ensure namespaces are " +
  "unmounted and locally attached PMem modules are not in use. Please be patient as it may " +
  "take several minutes and subsequent reboot maybe required.\n";

/**
 * storage.FaultScmNoPMem (code ScmNoPMem = 211). DAOS prints it under domain "storage"; ours
 * derives the domain from the code's range (server.md §1.13), so it prints as "scm".
 */
export function noPmemFault(): Fault {
  return scmFault(
    "ScmNoPMem",
    "No PMem modules exist on storage server",
    "Install PMem modules and retry command",
  );
}

/** PMem present but no ndctl/ipmctl to change its goals and namespaces. */
function pmemToolsFault(op: string): Fault {
  return generalFault(
    "MissingSoftwareDependency",
    `PMem ${op} needs ipmctl and ndctl, which this daos_server does not drive`,
    "create or remove the regions and fsdax namespaces with ipmctl/ndctl directly, then run " +
      "'daos_server scm scan' to check them",
  );
}

/** The places SPDK's setup script is installed (SPDK packages, DAOS's bundled SPDK). */
export const SPDK_SETUP_SCRIPTS = [
  "/usr/share/spdk/scripts/setup.sh",
  "/usr/share/daos/spdk/scripts/setup.sh",
];

/** NVMe prepare/reset without SPDK. */
export function noSpdkFault(): Fault {
  return generalFault(
    "MissingSoftwareDependency",
    `SPDK is not installed on this host: no setup script at ${SPDK_SETUP_SCRIPTS.join(" or ")}`,
    "install SPDK (e.g. the daos-spdk package) to hand NVMe SSDs to user space; " +
      "'daos_server nvme scan' lists the kernel-bound SSDs without it",
  );
}

/** A real check that no daos_server serves `socketDir` (its claim socket answers). */
async function serverRunning(socketDir: string): Promise<boolean> {
  try {
    const c = await Deno.connect({
      transport: "unix",
      path: `${socketDir.replace(/\/+$/, "")}/daos_server.lock`,
    });
    c.close();
    return true;
  } catch {
    return false;
  }
}

/** The reference's CheckDupeProcess: prepare/reset must not pull storage from a running server. */
async function refuseRunningServer(cfg: ServerConfig | undefined): Promise<void> {
  const dir = cfg?.socketDir ?? "/var/run/daos_server";
  if (await serverRunning(dir)) {
    throw generalFault(
      "SocketFileInUse",
      `a daos_server is running on this host (socket_dir ${dir})`,
      "stop daos_server before preparing or resetting its storage",
    );
  }
}

function pmemNamespaces(p: PmemFacts) {
  return p.namespaces.map((n) =>
    create(ScmNamespaceSchema, {
      uuid: n.uuid,
      blockdev: n.blockdev,
      dev: n.dev,
      numaNode: n.numaNode,
      size: BigInt(n.sizeBytes),
    })
  );
}

/**
 * The local scan: NVMe (filtered to the config's bdev_list when there is one) and memory via
 * the control plane's StorageScan code, PMem namespaces from libnvdimm. A failing part is an
 * error (the reference's "scan error(s)").
 */
export async function localScan(
  ctx: CmdContext,
  cfg: ServerConfig | undefined,
): Promise<StorageScanResp> {
  const engines = cfg?.engines ?? [];
  const resp = await storageScan({ $typeName: "ctl.StorageScanReq" }, ctx.host.storage(engines));
  const errors: string[] = [];
  for (const st of [resp.nvme?.state, resp.scm?.state]) {
    if (st && st.status !== 0) errors.push(st.error + (st.info ? ` (${st.info})` : ""));
  }
  const nvme = resp.nvme!;
  const configured = new Set(
    engines.flatMap((e) => e.bdevs.filter((t) => t.class === "nvme").flatMap((t) => t.bdevList)),
  );
  if (configured.size > 0) nvme.ctrlrs = nvme.ctrlrs.filter((c) => configured.has(c.pciAddr));
  // The SCM of a local scan is the hardware (PMem), not the configured ram disks.
  const pmem = await ctx.host.pmem();
  resp.scm!.namespaces = pmemNamespaces(pmem);
  if (errors.length > 0) {
    throw new Error(`scan error(s):\n${errors.map((e) => `  ${e}\n`).join("")}`);
  }
  return resp;
}

interface ScmScanOpts {
  ignoreConfig?: boolean;
  socket?: number;
}

async function scmScan(ctx: CmdContext, opts: ScmScanOpts): Promise<void> {
  ctx.log.info("Scanning locally-attached PMem storage...");
  const cfg = opts.ignoreConfig ? undefined : await optionalConfig(ctx);
  const resp = await localScan(ctx, cfg);
  if (opts.socket !== undefined) {
    const ns = resp.scm!.namespaces;
    resp.scm!.namespaces = ns.filter((n) => n.numaNode === opts.socket);
  }
  if (ctx.json) return ctx.writeJson(storageScanJson(resp, "scm"));
  ctx.log.info(formatScm(resp));
}

async function scmPrepare(
  ctx: CmdContext,
  opts: { scmNsPerSocket: number; force?: boolean },
): Promise<void> {
  if (opts.scmNsPerSocket === 0) {
    throw new Error("(-S|--scm-ns-per-socket) should be set to at least 1");
  }
  await refuseRunningServer(await optionalConfig(ctx));
  ctx.log.info("Prepare locally-attached PMem...");
  const pmem = await ctx.host.pmem();
  if (pmem.modules === 0 && pmem.namespaces.length === 0) throw noPmemFault();
  if (pmem.namespaces.length > 0) {
    // The reference's ScmNoFreeCap state: the namespaces exist already, nothing to change.
    ctx.log.info(formatScm(await localScan(ctx, undefined)));
    return;
  }
  ctx.log.info(MSG_STORAGE_PREPARE_WARN);
  throw pmemToolsFault("prepare");
}

async function scmReset(ctx: CmdContext): Promise<void> {
  await refuseRunningServer(await optionalConfig(ctx));
  ctx.log.info("Reset locally-attached PMem...");
  const pmem = await ctx.host.pmem();
  if (pmem.modules === 0 && pmem.namespaces.length === 0) throw noPmemFault();
  ctx.log.info(MSG_STORAGE_PREPARE_WARN);
  throw pmemToolsFault("reset");
}

/** One NVMe prepare/reset request (the reference's storage.BdevPrepareRequest fields). */
export interface NvmePrepRequest {
  hugepageCount: number;
  targetUser: string;
  pciAllowList: string;
  pciBlockList: string;
  disableVfio: boolean;
  reset: boolean;
}

/** Comma-separated CLI list → space-separated canonical addresses (sanitizePCIAddrLists). */
export function sanitizePciList(list: string, which: "allow" | "block"): string {
  if (list.trim() === "") return "";
  const parts = list.includes(" ") ? list.split(/\s+/) : list.split(",");
  const addrs = parts.map((p) => p.trim()).filter((p) => p !== "");
  const bad = addrs.filter((a) => !isPciAddress(a));
  if (bad.length > 0) {
    throw new Error(
      `invalid addresses in pci ${which} list: ${
        bad.map((b) => `"${b}"`).join(", ")
      } (use PCI addresses like 0000:81:00.0, comma-separated)`,
    );
  }
  return [...new Set(addrs)].sort().join(" ");
}

/**
 * The reference's processNVMePrepReq: CLI lists sanitized, then the config's hugepages,
 * bdev_list and bdev_exclude fill what the CLI left empty; `disable_hugepages` refuses;
 * a non-root target user needs the IOMMU (VFIO) unless told to use UIO, which only root may.
 */
export async function processNvmePrepRequest(
  req: NvmePrepRequest,
  cfg: ServerConfig | undefined,
  iommuEnabled: () => Promise<boolean>,
): Promise<NvmePrepRequest> {
  const out = { ...req };
  try {
    out.pciAllowList = sanitizePciList(out.pciAllowList, "allow");
    out.pciBlockList = sanitizePciList(out.pciBlockList, "block");
  } catch (e) {
    throw wrapError(e, "sanitizing cli input pci address lists");
  }
  if (cfg) {
    if (cfg.disableHugepages) {
      throw new Error(
        "updating request parameters with config file settings: hugepage usage has been " +
          "disabled in the config file",
      );
    }
    out.disableVfio ||= cfg.disableVfio;
    if (out.hugepageCount === 0 && cfg.nrHugepages > 0) out.hugepageCount = cfg.nrHugepages;
    if (out.pciAllowList === "") {
      const listed = cfg.engines.flatMap((e) =>
        e.bdevs.filter((t) => t.class === "nvme").flatMap((t) => t.bdevList)
      );
      out.pciAllowList = [...new Set(listed)].sort().join(" ");
    }
    if (out.pciBlockList === "") out.pciBlockList = [...new Set(cfg.bdevExclude)].sort().join(" ");
  }
  if (out.targetUser === "") out.targetUser = currentUser();
  if (out.targetUser !== "root") {
    if (out.disableVfio) {
      throw makeFault(
        "BdevNonRootVFIODisable",
        "VFIO can not be disabled if running as non-root user",
        "Either run server as root or do not disable VFIO when invoking the command",
      );
    }
    if (!(await iommuEnabled())) {
      throw makeFault(
        "BdevNoIOMMU",
        "IOMMU capability is required to access NVMe devices but no IOMMU capability detected",
        "enable IOMMU per the DAOS Admin Guide",
      );
    }
  }
  return out;
}

function currentUser(): string {
  return Deno.env.get("USER") || (Deno.uid() === 0 ? "root" : String(Deno.uid()));
}

async function iommuEnabled(): Promise<boolean> {
  return (await listDir("/sys/class/iommu")).length > 0;
}

/** Runs SPDK's setup.sh as the reference's privileged helper does (config or reset). */
async function runSpdkSetup(script: string, req: NvmePrepRequest): Promise<void> {
  const env: Record<string, string> = {
    PCI_ALLOWED: req.pciAllowList,
    PCI_BLOCKED: req.pciBlockList,
    TARGET_USER: req.targetUser,
  };
  if (!req.reset) env.NRHUGE = String(req.hugepageCount || 1024);
  if (req.disableVfio) env.DRIVER_OVERRIDE = "uio_pci_generic";
  const out = await new Deno.Command(script, {
    args: req.reset ? ["reset"] : [],
    env,
    stdin: "null",
  }).output();
  if (out.code !== 0) {
    const text = new TextDecoder().decode(out.stderr).trim() ||
      new TextDecoder().decode(out.stdout).trim();
    throw new Error(`${script} ${req.reset ? "reset " : ""}exited ${out.code}: ${text}`);
  }
}

interface NvmePrepOpts {
  pciBlockList?: string;
  hugepages?: number;
  targetUser?: string;
  disableVfio?: boolean;
  ignoreConfig?: boolean;
}

async function nvmePrepareReset(
  ctx: CmdContext,
  opts: NvmePrepOpts,
  allowList: string | undefined,
  reset: boolean,
): Promise<void> {
  const cfg = opts.ignoreConfig ? undefined : await optionalConfig(ctx);
  await refuseRunningServer(cfg);
  ctx.log.debug(`${reset ? "Reset" : "Prepare"} locally-attached NVMe storage...`);
  let req: NvmePrepRequest;
  try {
    req = await processNvmePrepRequest(
      {
        hugepageCount: reset ? 0 : opts.hugepages ?? 0,
        targetUser: opts.targetUser ?? "",
        pciAllowList: allowList ?? "",
        pciBlockList: opts.pciBlockList ?? "",
        disableVfio: opts.disableVfio === true,
        reset,
      },
      cfg,
      iommuEnabled,
    );
  } catch (e) {
    throw wrapError(e, "processing request parameters");
  }
  ctx.log.debug(`nvme ${reset ? "reset" : "prepare"} request parameters: ${JSON.stringify(req)}`);
  const script = await ctx.host.spdkSetup();
  if (script === undefined) {
    throw reset ? wrapError(noSpdkFault(), "nvme reset backend") : noSpdkFault();
  }
  try {
    await runSpdkSetup(script, req);
  } catch (e) {
    throw reset ? wrapError(e, "nvme reset backend") : e;
  }
}

async function nvmeScan(ctx: CmdContext, opts: { ignoreConfig?: boolean }): Promise<void> {
  const cfg = opts.ignoreConfig ? undefined : await optionalConfig(ctx);
  ctx.log.info("Scan locally-attached NVMe storage...");
  const resp = await localScan(ctx, cfg);
  if (ctx.json) return ctx.writeJson(storageScanJson(resp, "nvme"));
  ctx.log.info(formatNvmeControllers(resp.nvme?.ctrlrs ?? []));
}

async function legacyScan(ctx: CmdContext): Promise<void> {
  ctx.log.notice("storage scan subcommand is deprecated, use nvme or scm subcommands instead");
  ctx.log.info("Scanning locally-attached storage...");
  const resp = await localScan(ctx, undefined);
  if (ctx.json) return ctx.writeJson(storageScanJson(resp, "all"));
  ctx.log.info(formatStorageScan(resp));
}

interface LegacyPrepOpts extends NvmePrepOpts {
  reset?: boolean;
  scmOnly?: boolean;
  nvmeOnly?: boolean;
  scmNsPerSocket: number;
  force?: boolean;
  pciAllowList?: string;
}

async function legacyPrepare(ctx: CmdContext, opts: LegacyPrepOpts): Promise<void> {
  if (opts.scmOnly && opts.nvmeOnly) {
    throw new Error("scm-only and nvme-only options should not be set together");
  }
  ctx.log.info("storage prepare subcommand is deprecated, use nvme or scm subcommands instead");
  const doScm = opts.scmOnly || !opts.nvmeOnly;
  const doNvme = opts.nvmeOnly || !opts.scmOnly;
  let errScm: unknown;
  let errNvme: unknown;
  if (doScm) {
    try {
      if (opts.reset) await scmReset(ctx);
      else await scmPrepare(ctx, opts);
    } catch (e) {
      errScm = e;
    }
  }
  if (doNvme) {
    try {
      await nvmePrepareReset(ctx, opts, opts.pciAllowList, opts.reset === true);
    } catch (e) {
      errNvme = e;
    }
  }
  if (errScm !== undefined && errNvme !== undefined) {
    const text = [errScm, errNvme].map((e) => e instanceof Error ? e.message : String(e));
    throw new Error(`storage prepare command returned multiple errors: ${text.join(", ")}`, {
      cause: errScm,
    });
  }
  if (errScm !== undefined) throw errScm;
  if (errNvme !== undefined) throw errNvme;
}

const HELPER_LOG = "Log file location for debug from daos_server_helper binary";
const IGNORE_CONFIG = "Ignore parameters set in config file when running command";
const BLOCK_LIST = "Comma-separated list of PCI devices (by address) to be ignored when " +
  "unbinding devices from Kernel driver to be used with SPDK (default is no PCI devices)";
const ALLOW_ARG = "pci-allow-list";
const TARGET_USER = "User that will own hugepage mountpoint directory and vfio groups.";
const DISABLE_VFIO = "Force SPDK to use the UIO driver for NVMe device access";

function withCommon(c: Command): Command {
  return c.option("-l, --helper-log-file <path>", HELPER_LOG)
    .option("--ignore-config", IGNORE_CONFIG);
}

/**
 * The SPDK setup options `nvme prepare`, `nvme reset` and the legacy `storage prepare` share,
 * in the reference's order: the hugepage count (not on reset), target user, UIO switch.
 */
function spdkOptions(c: Command, hugepages: boolean): Command {
  if (hugepages) {
    c.option(
      "-p, --hugepages <n>",
      "Number of hugepages to allocate for use by SPDK (default 1024)",
      uintArg,
    );
  }
  return c.option("-u, --target-user <user>", TARGET_USER)
    .option("--disable-vfio", DISABLE_VFIO);
}

/** Registers the scm, nvme and (deprecated) storage groups. */
export function registerStorage(program: Command, run: Runner): void {
  const scm = program.command("scm")
    .description("Perform tasks related to locally-attached SCM storage");
  const socket = "Perform PMem namespace operations on the socket identified by this ID " +
    "(defaults to all sockets). PMem region operations will be performed across all sockets.";
  withCommon(
    scm.command("prepare").description("Prepare SCM devices so that they can be used with DAOS"),
  )
    .option("--socket <id>", socket, uintArg)
    .option(
      "-S, --scm-ns-per-socket <n>",
      "Number of PMem namespaces to create per socket (default: 1)",
      uintArg,
      1,
    )
    .option("-f, --force", "Perform SCM operations without waiting for confirmation")
    .action(run((ctx, o: { scmNsPerSocket: number; force?: boolean }) => scmPrepare(ctx, o), {
      config: "use",
    }));
  withCommon(scm.command("reset").description("Reset SCM devices that have been used with DAOS"))
    .option("--socket <id>", socket, uintArg)
    .option("-f, --force", "Perform PMem prepare operation without waiting for confirmation")
    .action(run((ctx) => scmReset(ctx), { config: "use" }));
  withCommon(scm.command("scan").description("Scan SCM devices"))
    .option("--socket <id>", socket, uintArg)
    .action(run((ctx, o: ScmScanOpts) => scmScan(ctx, o), { config: "use" }));

  // `nvme prepare|reset [pci-allow-list]`: the same SPDK setup, binding or unbinding.
  const nvmeDeviceCommand = (c: Command, reset: boolean) =>
    c.argument(`[${ALLOW_ARG}]`).action(run(
      (ctx, o: NvmePrepOpts, cmd) =>
        nvmePrepareReset(ctx, o, cmd.processedArgs[0] as string, reset),
      { config: "use" },
    ));
  const nvme = program.command("nvme")
    .description("Perform tasks related to locally-attached NVMe storage");
  const prep = withCommon(nvme.command("prepare").description("Prepare NVMe SSDs for use by DAOS"))
    .option("--pci-block-list <list>", BLOCK_LIST);
  nvmeDeviceCommand(spdkOptions(prep, true), false);
  const reset = withCommon(nvme.command("reset").description("Reset NVMe SSDs for use by OS"))
    .option("--pci-block-list <list>", BLOCK_LIST);
  nvmeDeviceCommand(spdkOptions(reset, false), true);
  withCommon(nvme.command("scan").description("Scan NVMe SSDs"))
    .option("--disable-vmd", "Disable VMD-aware scan.")
    .option("--skip-prep", "Skip preparation of devices during scan.")
    .action(run((ctx, o: { ignoreConfig?: boolean }) => nvmeScan(ctx, o), { config: "use" }));

  const legacy = program.command("storage").description(
    "Perform tasks related to locally-attached storage (deprecated, use scm or nvme instead)",
  );
  const legacyPrep = legacy.command("prepare")
    .description(
      "Prepare SCM and NVMe storage attached to local servers (deprecated, use scm " +
        "(prepare|reset) or nvme (prepare|reset) instead).",
    )
    .option("-l, --helper-log-file <path>", HELPER_LOG)
    .option(
      "--reset",
      "Reset SCM modules to memory mode after removing namespaces. Reset SPDK returning NVMe " +
        "device bindings back to kernel modules.",
    )
    .option("-s, --scm-only", "Only prepare SCM.")
    .option(
      "-S, --scm-ns-per-socket <n>",
      "Number of SCM namespaces to create per socket",
      uintArg,
      1,
    )
    .option("-f, --force", "Perform format without prompting for confirmation")
    .option("-n, --nvme-only", "Only prepare NVMe storage.")
    .option(
      "--pci-allow-list <list>",
      "Whitespace separated list of PCI devices (by address) to be unbound from Kernel driver " +
        "and used with SPDK (default is all PCI devices).",
    )
    .option(
      "--pci-block-list <list>",
      "Whitespace separated list of PCI devices (by address) to be ignored when unbinding " +
        "devices from Kernel driver to be used with SPDK (default is no PCI devices).",
    );
  spdkOptions(legacyPrep, true)
    .action(run((ctx, o: LegacyPrepOpts) => legacyPrepare(ctx, o), { config: "reject" }));
  legacy.command("scan")
    .description(
      "Scan SCM and NVMe storage attached to local server (deprecated, use scm scan or nvme " +
        "scan instead).",
    )
    .option("-l, --helper-log-file <path>", HELPER_LOG)
    .option("-d, --disable-vmd", "Disable VMD-aware scan.")
    .action(run((ctx) => legacyScan(ctx), { config: "reject" }));
}
