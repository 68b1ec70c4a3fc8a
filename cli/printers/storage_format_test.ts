import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { ResponseStateSchema, ResponseStatus } from "../../proto/gen/ts/ctl/common_pb.ts";
import {
  NvmeControllerResultSchema,
  ScmMountResultSchema,
  type StorageFormatResp,
  StorageFormatRespSchema,
} from "../../proto/gen/ts/ctl/storage_pb.ts";
import type { HostResult } from "../../control/lib/rpc/fanout.ts";
import { isFault } from "../../control/lib/fault.ts";
import {
  checkFormatRequest,
  foldFormatResults,
  formatGuard,
} from "../../control/lib/control/storage.ts";
import { MsUnavailableError } from "../../control/lib/rpc/error_codec.ts";
import { printFormatResults, roleNames } from "./storage_format.ts";

function resp(
  scm: Array<[string, ResponseStatus, string]>,
  nvme: Array<[string, ResponseStatus, string, number]>,
): StorageFormatResp {
  return create(StorageFormatRespSchema, {
    mrets: scm.map(([p, status, error]) =>
      create(ScmMountResultSchema, {
        mntpoint: p,
        state: create(ResponseStateSchema, { status, error }),
      })
    ),
    crets: nvme.map(([a, status, error, roleBits]) =>
      create(NvmeControllerResultSchema, {
        pciAddr: a,
        roleBits,
        state: create(ResponseStateSchema, { status, error }),
      })
    ),
  });
}

const OK = ResponseStatus.CTL_SUCCESS;
const ERR = ResponseStatus.CTL_ERR_SCM;

Deno.test("summary table folds identical hosts (dmg.md §5.9 example 1)", () => {
  const r: HostResult<StorageFormatResp>[] = ["host1:10001", "host2:10001"].map((addr) => ({
    addr,
    response: resp([["/mnt/1", OK, ""], ["/mnt/2", OK, ""]], [["1", OK, "", 0], ["2", OK, "", 0]]),
  }));
  const p = printFormatResults(foldFormatResults(r), false);
  assert.equal(
    p.out,
    "Format Summary:\n" +
      "  Hosts     SCM Devices NVMe Devices \n" +
      "  -----     ----------- ------------ \n" +
      "  host[1-2] 2           2            \n",
  );
  assert.equal(p.err, "");
});

Deno.test("failed mounts become host errors; summary counts successes (example 2)", () => {
  const r: HostResult<StorageFormatResp>[] = ["host1:10001", "host2:10001"].map((addr) => ({
    addr,
    response: resp(
      [["/mnt/1", ERR, "/mnt/1 format failed"], ["/mnt/2", OK, ""]],
      [["1", OK, "", 0], ["<nil>", OK, "", 0]],
    ),
  }));
  const folded = foldFormatResults(r);
  const p = printFormatResults(folded, false);
  assert.equal(
    p.err,
    "Errors:\n  Hosts     Error                \n  -----     -----                \n" +
      "  host[1-2] /mnt/1 format failed \n\n",
  );
  assert.ok(p.out.endsWith("host[1-2] 1           1            \n"), p.out);
  assert.equal(folded.hostErrors.summary(), "2 hosts had errors");
});

Deno.test("verbose output lists mounts and devices with roles (example 3 and 4)", () => {
  const r: HostResult<StorageFormatResp>[] = [{
    addr: "host1:10001",
    response: resp([["/mnt/2", OK, ""]], [["2", OK, "", 0]]),
  }];
  assert.equal(
    printFormatResults(foldFormatResults(r), true).out,
    "-----\nhost1\n-----\nSCM Mount Format Result \n--------- ------------- \n" +
      "/mnt/2    CTL_SUCCESS   \n\nNVMe PCI Format Result Role(s) \n" +
      "-------- ------------- ------- \n2        CTL_SUCCESS   NA      \n\n",
  );
  const r2: HostResult<StorageFormatResp>[] = [{
    addr: "host1:10001",
    response: resp([["/mnt/0", OK, ""]], []),
  }];
  assert.equal(
    printFormatResults(foldFormatResults(r2), true).out,
    "-----\nhost1\n-----\nSCM Mount Format Result \n--------- ------------- \n" +
      "/mnt/0    CTL_SUCCESS   \n\n  No NVMe devices were formatted\n\n",
  );
  assert.equal(roleNames(7), "data,meta,wal");
  assert.equal(roleNames(6), "meta,wal");
});

Deno.test("flag checks use the reference texts", () => {
  assert.throws(
    () => checkFormatRequest({ reformat: true, replace: true }, 1),
    /--replace may not be mixed with --force/,
  );
  assert.throws(
    () => checkFormatRequest({ reformat: false, replace: true }, 2),
    /command expects a single host in hostlist if replace option used/,
  );
});

Deno.test("guard: a running MS refuses with fault 509; no MS lets the format proceed", async () => {
  const e = await formatGuard([() => Promise.resolve({})]).then(() => null, (x: unknown) => x);
  assert(isFault(e) && e.code === 509, String(e));
  await formatGuard([
    () => Promise.reject(new MsUnavailableError("unavailable")),
    () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:10001")),
  ]);
  const other = await formatGuard([() => Promise.reject(new Error("permission denied"))])
    .then(() => null, (x: unknown) => x);
  assert.match(String(other), /permission denied/);
});
