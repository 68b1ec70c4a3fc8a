/** `pool create` client maths: -t parsing, -z SIZE|N%, the -z N% per-rank maxima. */
import { deepEqual, equal, throws } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { StorageScanRespSchema } from "../../../proto/gen/ts/ctl/storage_pb.ts";
import { NvmeDevState } from "../../../proto/gen/ts/ctl/smd_pb.ts";
import {
  maxPoolSize,
  parseSizeFlag,
  parseTierRatio,
  percentOf,
  ratioPercent,
} from "./pool_create.ts";

Deno.test("parseTierRatio: defaults, single value, rounding, sum check", () => {
  deepEqual(parseTierRatio("6,94"), [0.06, 0.94]);
  deepEqual(parseTierRatio("10"), [0.1, 0.9]);
  deepEqual(parseTierRatio("5.555%,94.445"), [0.0556, 0.9445]);
  deepEqual(parseTierRatio("100"), [1, 0]);
  throws(() => parseTierRatio("50,60"), /must add up to 100% \(got 110\.00%\)/);
  throws(() => parseTierRatio("101"), /greater than 100% \(101\.00%\)/);
  throws(() => parseTierRatio("x"), /invalid tier ratio "x"/);
  throws(() => parseTierRatio("-5,105"), /invalid tier ratio/);
});

Deno.test("parseSizeFlag: bytes, percentages in 1-100", () => {
  deepEqual(parseSizeFlag("1TB"), { bytes: 10n ** 12n });
  deepEqual(parseSizeFlag("50%"), { percent: 50 });
  deepEqual(parseSizeFlag("100%"), { percent: 100 });
  throws(() => parseSizeFlag("0%"), /invalid full size ratio 0%/);
  throws(() => parseSizeFlag("101%"), /invalid full size ratio 101%/);
  throws(() => parseSizeFlag("1.5%"), /invalid size "1.5%"/);
  throws(() => parseSizeFlag("abc"), /invalid size/);
});

Deno.test("percentOf and ratioPercent are exact", () => {
  equal(percentOf((1n << 63n) + 1n, 100), (1n << 63n) + 1n);
  equal(percentOf(99n, 50), 49n);
  equal(ratioPercent(10n, 100n), "9.09");
  equal(ratioPercent(0n, 0n), "0.00");
  equal(ratioPercent(5n, 0n), "100.00");
});

function host(scm: [number, bigint][], nvme: [number, bigint, NvmeDevState, number][]) {
  return create(StorageScanRespSchema, {
    scm: { namespaces: scm.map(([rank, u]) => ({ uuid: "n", mount: { rank, usableBytes: u } })) },
    nvme: {
      ctrlrs: nvme.map(([rank, u, devState, roleBits]) => ({
        pciAddr: "0000:01:00.0",
        devState,
        smdDevices: [{ uuid: "d", rank, usableBytes: u, roleBits }],
      })),
    },
  });
}

Deno.test("maxPoolSize: minima over the wanted ranks; roles, states and errors", () => {
  const answers = [
    { addr: "h1:10001", payload: host([[0, 50n]], [[0, 700n, NvmeDevState.NORMAL, 0]]) },
    {
      addr: "h2:10001",
      payload: host([[1, 40n]], [
        [1, 300n, NvmeDevState.NORMAL, 1],
        [1, 300n, NvmeDevState.NORMAL, 1],
        // WAL/meta-only device holds no data; a NEW device is not in use.
        [1, 5000n, NvmeDevState.NORMAL, 6],
        [1, 5000n, NvmeDevState.NEW, 1],
      ]),
    },
  ];
  deepEqual(maxPoolSize(answers, []), { scm: 40n, nvme: 600n });
  deepEqual(maxPoolSize(answers, [0]), { scm: 50n, nvme: 700n });
  // No NVMe at all: 0.
  deepEqual(maxPoolSize([{ addr: "h", payload: host([[0, 9n]], []) }], []), { scm: 9n, nvme: 0n });
  throws(() => maxPoolSize([], []), /Empty host storage response/);
  throws(() => maxPoolSize(answers, [7]), /No SCM storage space available with rank list 7/);
  throws(
    () => maxPoolSize([{ addr: "h3:10001", payload: host([], []) }], []),
    /Host without SCM storage: hostname=h3$/,
  );
  throws(
    () => maxPoolSize([{ addr: "h", payload: host([[0, 1n], [0, 2n]], []) }], []),
    /Multiple SCM devices found for rank 0/,
  );
  throws(
    () =>
      maxPoolSize([{ addr: "h", payload: host([[0, 1n]], [[2, 1n, NvmeDevState.NORMAL, 0]]) }], []),
    /Rank 2 without SCM device/,
  );
});
