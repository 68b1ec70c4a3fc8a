/**
 * ctl.CtlSvc/CollectLog (ours; `dmg support collect-log`): this host's control and engine logs,
 * its config with secrets redacted, local engine state, storage and network scans and engine
 * telemetry, packed into one tar.gz with an index and served in chunks under the response
 * limit. The archive is built on the first call and kept briefly for the follow-up reads.
 */
import { create, type JsonValue, toJson } from "@bufbuild/protobuf";
import { dirname } from "node:path";
import { NetworkScanReqSchema, NetworkScanRespSchema } from "../../proto/gen/ts/ctl/network_pb.ts";
import { StorageScanReqSchema, StorageScanRespSchema } from "../../proto/gen/ts/ctl/storage_pb.ts";
import {
  type CollectLogReq,
  type CollectLogResp,
  CollectLogRespSchema,
} from "../../proto/gen/ts/ctl/support_pb.ts";
import { readEngineMetrics } from "../../engine-ffi/telemetry.ts";
import { networkScan } from "../ctl/network_scan.ts";
import { storageScan } from "../ctl/storage_scan.ts";
import { MAX_RESPONSE_BYTES } from "../lib/rpc/message_limits.ts";
import { Collector, redactConfigYaml, sha256Hex } from "../lib/support/collect.ts";
import type { ServerContext } from "./server_context.ts";

/** Largest chunk served: the response limit less room for the index and framing. */
export const MAX_CHUNK = MAX_RESPONSE_BYTES - 2 * 1024 * 1024;
const DEFAULT_CHUNK = 4 * 1024 * 1024;
/** How long a built archive is kept for follow-up reads. */
const SESSION_TTL_MS = 5 * 60_000;

interface Session {
  tgz: Uint8Array;
  indexJson: string;
  sha: string;
  timer: ReturnType<typeof setTimeout>;
}

/** The support CtlSvc methods. */
export interface CtlSupportHandlers {
  collectLog(req: CollectLogReq): Promise<CollectLogResp>;
}

const enc = new TextEncoder();
const json = (v: unknown) => enc.encode(JSON.stringify(v, null, 2) + "\n");

/** Gathers everything for this host into `c` (per-item failures become index errors). */
export async function gatherHost(
  ctx: ServerContext,
  c: Collector,
  extraLogsDir = "",
): Promise<void> {
  const cfg = ctx.config;
  if (extraLogsDir !== "") await gatherExtra(c, extraLogsDir);
  if (cfg.controlLogFile) {
    await c.addFile("logs/control.log", cfg.controlLogFile, dirname(cfg.controlLogFile));
  } else c.addError("logs/control.log", "control_log_file is not set (log went to stderr)");
  for (const e of cfg.engines) {
    if (!e.logFile) continue;
    await c.addFile(`logs/engine${e.index}.log`, e.logFile, dirname(e.logFile));
  }
  if (cfg.path) {
    try {
      c.addData(
        "config/daos_server.yml",
        enc.encode(redactConfigYaml(await Deno.readTextFile(cfg.path))),
      );
    } catch (e) {
      c.addError("config/daos_server.yml", e);
    }
  }
  const h = ctx.harness();
  c.addData("state/engines.json", json(h ? h.report() : []));
  try {
    const s = await storageScan(create(StorageScanReqSchema, {}), ctx.scan.storage, {
      timeoutMs: 30_000,
    });
    c.addData("state/storage_scan.json", json(toJson(StorageScanRespSchema, s)));
  } catch (e) {
    c.addError("state/storage_scan.json", e);
  }
  try {
    const n = await networkScan(create(NetworkScanReqSchema, {}), ctx.scan.network);
    c.addData("state/network_scan.json", json(toJson(NetworkScanRespSchema, n)));
  } catch (e) {
    c.addError("state/network_scan.json", e);
  }
  for (const e of cfg.engines) {
    try {
      const m = readEngineMetrics(cfg.name, e.index);
      c.addData(`telemetry/engine${e.index}.json`, json(m as unknown as JsonValue));
    } catch (err) {
      c.addError(`telemetry/engine${e.index}.json`, err);
    }
  }
}

/** The regular files directly in `dir` under extra/ (symlinks only when they stay inside). */
async function gatherExtra(c: Collector, dir: string): Promise<void> {
  if (!dir.startsWith("/")) {
    c.addError("extra", `--extra-logs-dir "${dir}" is not an absolute path; give one`);
    return;
  }
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isFile || e.isSymlink) names.push(e.name);
  } catch (e) {
    c.addError("extra", `--extra-logs-dir ${dir}: ${(e as Error).message}`);
    return;
  }
  for (const n of names.sort()) await c.addFile(`extra/${n}`, `${dir}/${n}`, dir);
}

/** Builds CollectLog over `ctx`. */
export function ctlSupportHandlers(ctx: ServerContext): CtlSupportHandlers {
  const sessions = new Map<string, Session>();
  return {
    async collectLog(req) {
      let id = req.session;
      let s: Session | undefined = sessions.get(id);
      if (id && !s) {
        throw new Error(
          `collect-log session ${id} is unknown or expired on ${ctx.hostname}; rerun collect-log`,
        );
      }
      if (!s) {
        const c = new Collector(
          Number(req.fileCap) || undefined,
          Number(req.totalCap) || undefined,
        );
        await gatherHost(ctx, c, req.extraLogsDir);
        const { tgz, index } = await c.archive(ctx.hostname, ctx.hostname);
        id = crypto.randomUUID();
        const timer = setTimeout(() => sessions.delete(id), SESSION_TTL_MS);
        // A server stopping must not wait for an abandoned session to expire.
        Deno.unrefTimer(timer as unknown as number);
        const fresh = { tgz, indexJson: JSON.stringify(index), sha: await sha256Hex(tgz), timer };
        sessions.set(id, fresh);
        s = fresh;
      }
      const off = Number(req.offset);
      if (off > s.tgz.length) {
        throw new Error(`offset ${off} is past the archive's end (${s.tgz.length} bytes)`);
      }
      const size = Math.min(req.chunk || DEFAULT_CHUNK, MAX_CHUNK);
      const data = s.tgz.subarray(off, off + size);
      if (off + data.length >= s.tgz.length) {
        // Fully read: drop it now rather than holding memory until the TTL.
        clearTimeout(s.timer);
        sessions.delete(id);
      }
      return create(CollectLogRespSchema, {
        session: id,
        indexJson: off === 0 ? s.indexJson : "",
        totalSize: BigInt(s.tgz.length),
        offset: BigInt(off),
        data,
        archiveSha256: s.sha,
      });
    },
  };
}
