import { deepEqual, equal } from "node:assert/strict";
import {
  compatible,
  incompatibleComponents,
  noCompatibilityInsecure,
  parseVersion,
  versionFromSys,
} from "./security_version.ts";

const vc = (component: string, v: string) => ({ component, version: parseVersion(v)! });

Deno.test("parseVersion: MAJOR.MINOR.PATCH only", () => {
  deepEqual(parseVersion("2.9.100"), { major: 2, minor: 9, patch: 100 });
  deepEqual(parseVersion("v2.6.0"), { major: 2, minor: 6, patch: 0 });
  for (const bad of ["", "2.9", "2.9.x", "2.9.1.4", "-1.0.0"]) equal(parseVersion(bad), undefined);
});

Deno.test("versionFromSys: the last dash-separated part when it is a version", () => {
  deepEqual(versionFromSys("daos_server-2.9.100"), { major: 2, minor: 9, patch: 100 });
  deepEqual(versionFromSys("my-system-2.8.0"), { major: 2, minor: 8, patch: 0 });
  equal(versionFromSys("daos_server"), undefined);
  equal(versionFromSys("my-system"), undefined);
});

Deno.test("compatible: DAOS interop rules", () => {
  const cases: [string, string, string, boolean][] = [
    ["admin", "2.9.100", "2.9.100", true], // equal
    ["admin", "2.9.0", "2.9.100", true], // same major.minor
    ["admin", "2.8.0", "2.9.100", false],
    ["server", "2.10.0", "2.9.100", false],
    ["agent", "2.7.0", "2.9.100", true], // server↔agent: minor within 2
    ["agent", "2.11.5", "2.9.100", true],
    ["agent", "2.6.9", "2.9.100", false],
    ["agent", "3.9.100", "2.9.100", false], // different major
    ["admin", "1.2.0", "2.9.100", false], // nothing ≥2.0 with <2.0
    ["admin", "3.9.100", "2.9.100", false],
  ];
  for (const [component, other, self, want] of cases) {
    equal(compatible(vc("server", self), vc(component, other)), want, `${component} ${other}`);
  }
  // Below 2.0 both ways is still "same major.minor".
  equal(compatible(vc("server", "1.2.0"), vc("admin", "1.2.7")), true);
  equal(compatible(vc("server", "1.2.0"), vc("admin", "1.0.0")), false);
});

Deno.test("faults 616 and 617: codes and texts", () => {
  const f = incompatibleComponents(vc("server", "2.9.100"), vc("agent", "2.6.0"));
  equal(f.code, 616);
  equal(f.domain, "server");
  equal(f.description, "components server:2.9.100 and agent:2.6.0 are not compatible");
  const g = noCompatibilityInsecure(parseVersion("2.9.100")!, parseVersion("2.9.99")!);
  equal(g.code, 617);
  equal(g.description, "versions 2.9.100 and 2.9.99 are not compatible in insecure mode");
  equal(g.resolution, "enable certificates or use identical component versions");
});
