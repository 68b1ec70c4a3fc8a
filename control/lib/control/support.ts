/**
 * `dmg support collect-log` client side: CollectLog on every host, each host's archive pulled
 * in chunks (first chunk by fan-out, the rest per host) and checked against its sha256.
 */
import { create } from "@bufbuild/protobuf";
import { CtlSvc } from "../../../proto/gen/ts/ctl/ctl_pb.ts";
import { CollectLogReqSchema } from "../../../proto/gen/ts/ctl/support_pb.ts";
import { concat, type HostIndex, sha256Hex } from "../support/collect.ts";
import { foldResults, type HostAnswers } from "./host_errors.ts";
import type { Invoker } from "./invoker.ts";
import type { FanOutTargets } from "./storage.ts";

/** One host's collected archive. */
export interface HostArchive {
  /** The host as the server names itself (the index's host). */
  host: string;
  tgz: Uint8Array;
  index: HostIndex;
}

/** Caps passed to the servers (0 = their defaults). */
export interface CollectOptions {
  fileCap?: number;
  totalCap?: number;
  /** A directory whose files every server adds (the reference's --extra-logs-dir). */
  extraLogsDir?: string;
  /** Chunk size asked for (tests use small ones to exercise the chunking). */
  chunk?: number;
}

/** CollectLog on every target; failed hosts (or a bad checksum) become host errors. */
export async function collectLogs(
  inv: Invoker,
  opts: FanOutTargets,
  c: CollectOptions = {},
): Promise<HostAnswers<HostArchive>> {
  const { targets, ...fan } = opts;
  const base = {
    chunk: c.chunk ?? 0,
    fileCap: BigInt(c.fileCap ?? 0),
    totalCap: BigInt(c.totalCap ?? 0),
    extraLogsDir: c.extraLogsDir ?? "",
  };
  const first = await inv.fanOut(
    targets,
    CtlSvc.method.collectLog,
    create(CollectLogReqSchema, base),
    { ...fan, name: "CollectLog" },
  );
  const results = await Promise.all(first.map(async (r) => {
    if (r.error) return r;
    try {
      const resp = r.response;
      const parts = [resp.data];
      let got = resp.data.length;
      const total = Number(resp.totalSize);
      while (got < total) {
        const next = await inv.unary(
          r.addr,
          CtlSvc.method.collectLog,
          create(CollectLogReqSchema, { ...base, session: resp.session, offset: BigInt(got) }),
        );
        if (next.data.length === 0) throw new Error(`archive ended early at ${got}/${total} bytes`);
        parts.push(next.data);
        got += next.data.length;
      }
      const tgz = concat(parts);
      const sha = await sha256Hex(tgz);
      if (sha !== resp.archiveSha256) {
        throw new Error(
          `archive checksum mismatch (got ${sha}, server sent ${resp.archiveSha256})`,
        );
      }
      const index = JSON.parse(resp.indexJson) as HostIndex;
      return { addr: r.addr, response: { host: index.host, tgz, index } };
    } catch (e) {
      return { addr: r.addr, error: e instanceof Error ? e : new Error(String(e)) };
    }
  }));
  return foldResults<HostArchive>(results);
}
