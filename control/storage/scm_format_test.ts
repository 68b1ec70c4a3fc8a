import assert from "node:assert/strict";
import { isFault } from "../lib/fault.ts";
import { parseKernelConfig } from "./kernel_config.ts";
import { formatScm, tmpfsOptions } from "./scm_format.ts";
import type { EngineConfig, ScmTier } from "../config/types.ts";

const ram: ScmTier = {
  tier: 0,
  class: "ram",
  scmMount: "/mnt/x",
  scmList: [],
  scmSize: 4,
  scmHugepagesDisabled: null,
};

Deno.test("tmpfs options: mpol only with CONFIG_NUMA, huge only when explicitly enabled", () => {
  const numa = parseKernelConfig("CONFIG_NUMA=y\nCONFIG_TRANSPARENT_HUGEPAGE=y\n");
  const flat = parseKernelConfig("# CONFIG_NUMA is not set\n");
  assert.deepEqual(tmpfsOptions(ram, 4, 1, numa), ["mpol=prefer:1", "size=4g"]);
  assert.deepEqual(tmpfsOptions(ram, 4, 0, flat), ["size=4g"]);
  assert.deepEqual(tmpfsOptions({ ...ram, scmHugepagesDisabled: false }, 8, 0, numa), [
    "mpol=prefer:0",
    "size=8g",
    "huge=always",
  ]);
  const e218 = (() => {
    try {
      tmpfsOptions({ ...ram, scmHugepagesDisabled: false }, 4, 0, flat);
    } catch (e) {
      return e;
    }
  })();
  assert(isFault(e218) && e218.code === 218);
  assert.throws(() => tmpfsOptions(ram, 0, 0, flat), /invalid ram-disk size 0 GiB/);
});

Deno.test("dcpm cannot be formatted here: fault 211 no PMem", async () => {
  const e = {
    index: 0,
    scm: { ...ram, class: "dcpm", scmList: ["/dev/pmem0"], scmSize: 0 },
  } as unknown as EngineConfig;
  const err = await formatScm(e, 0, new Map()).then(() => null, (x: unknown) => x);
  assert(isFault(err) && err.code === 211, String(err));
});
