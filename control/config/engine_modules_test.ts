import { deepEqual, equal, match, throws } from "node:assert/strict";
import { engineYaml, ramTierYaml } from "../../tests/util/config_fixtures.ts";
import { applyModulesFlag, moduleListProblem } from "./engine_modules.ts";
import { checkServerConfigText } from "./load.ts";
import { formatProblem } from "./problems.ts";

Deno.test("module lists: names separated by single commas, each once", () => {
  for (const ok of ["", "mgmt", "mgmt,pool,cont", "a_1,B2", "x".repeat(32)]) {
    equal(moduleListProblem(ok), null, ok);
  }
  const bad: Array<[string, RegExp]> = [
    ["mgmt,", /module 2 "" is not a module name/],
    [",mgmt", /module 1 "" is not a module name/],
    ["mgmt,,pool", /module 2 ""/],
    ["../mgmt", /module 1 "..\/mgmt"/],
    ["mgmt pool", /"mgmt pool"/],
    ["a/b", /"a\/b"/],
    ["mgmt;rm", /"mgmt;rm"/],
    ["x".repeat(33), /is not a module name \(1\.\.32 letters/],
    ["mgmt,pool,mgmt", /module "mgmt" is listed twice/],
    [Array(100).fill("abc").join(","), /399 characters long \(at most 255\)/],
  ];
  for (const [list, re] of bad) match(moduleListProblem(list) ?? "", re, list);
});

const YAML = `name: daos_server
provider: ofi+tcp
transport_config:
  allow_insecure: true
engines:
${engineYaml(ramTierYaml("/mnt/daos0"), { targets: 4 })}`;

Deno.test("an engine's modules key is checked at its line; a good one reaches the config", () => {
  const withModules = (v: string) =>
    YAML.replace("    fabric_iface: lo\n", `    fabric_iface: lo\n    modules: "${v}"\n`);
  const bad = checkServerConfigText(withModules("mgmt,../x"), "t.yml").problems.map(
    formatProblem,
  );
  equal(bad.length, 1, bad.join("\n"));
  match(bad[0], /^t\.yml:8:14: .*I\/O Engine 0 failed config validation: modules: module 2/);
  match(bad[0], /"\.\.\/x" is not a module name/);
  const good = checkServerConfigText(withModules("mgmt"), "t.yml");
  deepEqual(good.problems, []);
  equal(good.config?.engines[0].modules, "mgmt");
});

Deno.test("daos_server start --modules replaces every engine's list, checked first", () => {
  const engines = [{ modules: "" }, { modules: "mgmt" }];
  applyModulesFlag(engines, "mgmt,pool");
  deepEqual(engines, [{ modules: "mgmt,pool" }, { modules: "mgmt,pool" }]);
  throws(
    () => applyModulesFlag(engines, "mgmt,../x"),
    /invalid --modules "mgmt,\.\.\/x": module 2/,
  );
  throws(() => applyModulesFlag(engines, ""), /invalid --modules "": empty module list/);
  deepEqual(engines, [{ modules: "mgmt,pool" }, { modules: "mgmt,pool" }]);
});
