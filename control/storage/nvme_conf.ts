/**
 * daos_nvme.conf generation (server.md §3.6): SPDK JSON config plus the DAOS `daos_data`
 * section, 2-space indented, keys in the reference's order.
 */
import type { EngineConfig } from "../config/types.ts";
import { parseBusidRange } from "../config/schema.ts";
import { atomicWrite } from "../lib/atomic_write.ts";

interface Method {
  params: Record<string, unknown>;
  method: string;
}

/** Inputs that do not come from the engine config. */
export interface NvmeConfEnv {
  hostname: string;
  vmdEnabled: boolean;
}

function bdevEntries(e: EngineConfig, hostname: string): Method[] {
  const out: Method[] = [];
  for (const t of e.bdevs) {
    t.bdevList.forEach((dev, idx) => {
      const suffix = `${hostname}_${idx}_${t.tier}_${t.roleBits}`;
      if (t.class === "nvme") {
        out.push({
          params: { trtype: "PCIe", name: `Nvme_${suffix}`, traddr: dev },
          method: "bdev_nvme_attach_controller",
        });
      } else {
        out.push({
          params: {
            block_size: t.class === "file" ? 4096 : 0,
            name: `AIO_${suffix}`,
            filename: dev,
          },
          method: "bdev_aio_create",
        });
      }
    });
  }
  return out;
}

/** The daos_nvme.conf object for an engine (null when nothing would be written). */
export function buildNvmeConf(e: EngineConfig, env: NvmeConfEnv): Record<string, unknown> | null {
  if (e.bdevs.length === 0) return null;
  if (e.bdevs.every((t) => t.class === "nvme" && t.bdevList.length === 0)) return null;
  const hotplug = e.enableHotplug;
  const bdev: Method[] = [
    { params: { bdev_io_pool_size: 65536, bdev_io_cache_size: 256 }, method: "bdev_set_options" },
    {
      params: {
        transport_retry_count: 4,
        timeout_us: 0,
        nvme_adminq_poll_period_us: 100000,
        action_on_timeout: "none",
        nvme_ioq_poll_period_us: 0,
      },
      method: "bdev_nvme_set_options",
    },
    ...bdevEntries(e, env.hostname),
    {
      params: { enable: hotplug, period_us: hotplug ? 5000000 : 0 },
      method: "bdev_nvme_set_hotplug",
    },
  ];
  const subsystems: Array<{ subsystem: string; config: Method[] }> = [
    { subsystem: "bdev", config: bdev },
  ];
  const vmd = env.vmdEnabled && e.bdevs.some((t) => t.class === "nvme");
  if (vmd) subsystems.push({ subsystem: "vmd", config: [{ params: {}, method: "vmd_enable" }] });
  if (e.spdkIobuf) {
    const p: Record<string, number> = {};
    if (e.spdkIobuf.smallPoolCount) p.small_pool_count = e.spdkIobuf.smallPoolCount;
    if (e.spdkIobuf.largePoolCount) p.large_pool_count = e.spdkIobuf.largePoolCount;
    subsystems.push({ subsystem: "iobuf", config: [{ params: p, method: "iobuf_set_options" }] });
  }

  const data: Method[] = [];
  const acc = e.acceleration;
  if (acc && acc.engine !== "none") {
    const opts = (acc.options.includes("move") ? 1 : 0) | (acc.options.includes("crc") ? 2 : 0);
    data.push({ params: { accel_engine: acc.engine, accel_opts: opts }, method: "accel_props" });
  }
  if (e.spdkRpcServer?.enable) {
    data.push({
      params: { enable: true, sock_addr: e.spdkRpcServer.sockAddr },
      method: "spdk_rpc_srv",
    });
  }
  if (e.bdevAutoFaulty?.enable) {
    data.push({
      params: {
        enable: true,
        max_io_errs: e.bdevAutoFaulty.maxIoErrs,
        max_csum_errs: e.bdevAutoFaulty.maxCsumErrs,
      },
      method: "auto_faulty",
    });
  }
  if (hotplug) {
    const range = vmd ? [0, 255] : parseBusidRange(e.bdevs[0].bdevBusidRange ?? "") ?? [0, 255];
    data.push({ params: { begin: range[0], end: range[1] }, method: "hotplug_busid_range" });
  }
  return { daos_data: { config: data }, subsystems };
}

/** The file text (Go json.MarshalIndent layout: 2 spaces, no trailing newline). */
export function renderNvmeConf(e: EngineConfig, env: NvmeConfEnv): string | null {
  const c = buildNvmeConf(e, env);
  return c === null ? null : JSON.stringify(c, null, 2);
}

/** Writes daos_nvme.conf (mode 0664) at `path`; returns false when nothing is to be written. */
export async function writeNvmeConf(
  path: string,
  e: EngineConfig,
  env: NvmeConfEnv,
): Promise<boolean> {
  const text = renderNvmeConf(e, env);
  if (text === null) return false;
  await atomicWrite(path, text, { mode: 0o664 });
  return true;
}
