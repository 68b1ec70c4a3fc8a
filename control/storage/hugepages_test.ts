import assert from "node:assert/strict";
import {
  engineYaml,
  fileTierYaml,
  parseConfig,
  ramTierYaml,
} from "../../tests/util/config_fixtures.ts";
import { engineMemArgs, hugepagePlan, minHugepages } from "./hugepages.ts";

function cfg(targets: number, bdev: boolean, nr = 0) {
  const text = `provider: ofi+tcp
nr_hugepages: ${nr}
engines:
${engineYaml(ramTierYaml("/mnt/d") + (bdev ? fileTierYaml(["/tmp/b"]) : ""), { targets })}`;
  return parseConfig(text);
}

Deno.test("minimum hugepages: 1 GiB per target (+1 single-target), 128 in discovery", () => {
  assert.equal(minHugepages(cfg(8, true), 2048), 8 * 512);
  assert.equal(minHugepages(cfg(1, true), 2048), 2 * 512);
  assert.equal(minHugepages(cfg(8, false), 2048), 128);
  assert.deepEqual(engineMemArgs(cfg(8, true).engines[0], 2048), {
    memSizeMiB: 8192,
    hugepageSizeMiB: 2,
  });
  assert.deepEqual(engineMemArgs(cfg(8, false).engines[0], 2048), {
    memSizeMiB: 0,
    hugepageSizeMiB: 0,
  });
  assert.deepEqual(hugepagePlan(cfg(8, true, 100), 2048), {
    count: 100,
    notice: "nr_hugepages 100 is lower than the recommended minimum 4096",
  });
  assert.deepEqual(hugepagePlan(cfg(8, true), 2048), { count: 4096, notice: "" });
});
