import { deepEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import {
  bdevFault,
  type CatalogueDomain,
  clientFault,
  controlMetadataFault,
  DaosStatusError,
  daosStatusString,
  DER,
  domainOfCode,
  envelopeStatus,
  Fault,
  FaultCode,
  faultCodesByDomain,
  faultFromWire,
  faults,
  generalFault,
  hasFaultCode,
  isFault,
  makeFault,
  rootCause,
  sanitizeDomain,
  scmFault,
  securityFault,
  serverConfigFault,
  serverFault,
  storageFault,
  systemFault,
  wrapError,
} from "./fault.ts";

Deno.test("fault string form matches the spec", () => {
  const f = faults.ClientConnectionRefused("wolf-1:10001");
  assertEquals(
    f.message,
    'client: code = 506 description = "the server at wolf-1:10001 refused the connection"',
  );
  assertEquals(f.description, "the server at wolf-1:10001 refused the connection");
  assertEquals(String(f), "Fault: " + f.message);
});

Deno.test("resolution line matches dmg.md §3.3 example", () => {
  const f = faults.ClientFormatRunningSystem();
  assertEquals(
    f.message,
    'client: code = 509 description = "storage format invoked on a running system"',
  );
  assertEquals(
    f.resolutionLine(),
    'client: code = 509 resolution = "stop and erase the system, then retry the format operation"',
  );
  assertEquals(makeFault(500, "x").resolutionLine(), undefined);
});

Deno.test("domain is sanitised: colons and whitespace runs become _", () => {
  assertEquals(sanitizeDomain("a:b  c\td"), "a_b_c_d");
  const f = new Fault({ domain: "my dom:x", code: 7, description: "d" });
  assertEquals(f.message, 'my_dom_x: code = 7 description = "d"');
});

Deno.test("code ranges map to domains", () => {
  assertEquals(domainOfCode(FaultCode.SocketFileInUse), "general");
  assertEquals(domainOfCode(FaultCode.StorageAlreadyFormatted), "storage");
  assertEquals(domainOfCode(FaultCode.ScmHugepagesNotSupported), "scm");
  assertEquals(domainOfCode(FaultCode.BdevConfigRolesWalDataNoMeta), "bdev");
  assertEquals(domainOfCode(FaultCode.SystemJoinMemberExists), "system");
  assertEquals(domainOfCode(FaultCode.ClientRpcTimeout), "client");
  assertEquals(domainOfCode(FaultCode.ServerRankAdminExcluded), "server");
  assertEquals(domainOfCode(FaultCode.ServerBadConfig), "serverconfig");
  assertEquals(domainOfCode(FaultCode.ServerConfigControlInterfaceMismatch), "serverconfig");
  assertEquals(domainOfCode(FaultCode.SecurityInvalidCert), "security");
  assertEquals(domainOfCode(FaultCode.CheckerUnknown), "checker");
});

Deno.test("catalogue numbers are unique and spot-checked", () => {
  const values = Object.values(FaultCode);
  assertEquals(new Set(values).size, values.length);
  assertEquals(FaultCode.ServerTransparentHugepageEnabled, 624);
  assertEquals(FaultCode.ServerConfigRamdiskUnderMinMem, 730);
  assertEquals(FaultCode.BdevConfigRolesNoControlMetadata, 318);
  assertEquals(FaultCode.ScmRamdiskLowMem, 214);
  assertEquals(FaultCode.ClientConfigEmptyHostList, 503);
});

Deno.test("factories carry their codes and domains", () => {
  const bad = faults.ServerBadConfig("engine 0: target count must be nonzero");
  assertEquals(bad.code, 701);
  assertEquals(bad.domain, "serverconfig");
  assert(bad.description.includes("target count must be nonzero"));
  assert(bad.resolution.length > 0);
  assertEquals(faults.ClientConfigEmptyHostList().code, 503);
  assertEquals(
    faults.ClientRpcTimeout("SystemQuery", "5m0s").description,
    "the SystemQuery request timed out after 5m0s",
  );
  assertEquals(
    faults.ServerRankAdminExcluded("1,3", true).description,
    "ranks [1,3] are administratively excluded and cannot be operated on by this command",
  );
  assertEquals(
    faults.ServerRankAdminExcluded("2", false).description,
    "rank [2] is administratively excluded and cannot be operated on by this command",
  );
});

Deno.test("isFault / hasFaultCode", () => {
  assert(isFault(faults.ClientConnectionClosed("h:1")));
  assert(!isFault(new Error("x")));
  assert(!isFault("x"));
  assert(hasFaultCode(faults.ClientConnectionTimedOut("h:1"), 508));
  assert(!hasFaultCode(faults.ClientConnectionTimedOut("h:1"), 506));
});

Deno.test("DAOS status strings", () => {
  assertEquals(daosStatusString(-1005), "DER_NONEXIST(-1005): The specified entity does not exist");
  assertEquals(new DaosStatusError(-1012).message, "DER_BUSY(-1012): Device or resource busy");
  assertEquals(new DaosStatusError(1015).status, -1015);
  assertEquals(daosStatusString(-4242), "DER_UNKNOWN(-4242): Unknown error code -4242");
  assertEquals(daosStatusString(-1036), "DER_GRPVER(-1036): Group versioning mismatch");
});

Deno.test("every DER code the engine's C sources define is named here with the same value", async () => {
  const root = new URL("../../engine-ffi/native/", import.meta.url).pathname;
  const found = new Map<string, number>();
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory && e.name !== "build") await walk(path);
      else if (/\.[ch]$/.test(e.name)) {
        for (const m of (await Deno.readTextFile(path)).matchAll(/#define DER_(\w+)\s+(\d+)/g)) {
          found.set(m[1], Number(m[2]));
        }
      }
    }
  };
  await walk(root.replace(/\/$/, ""));
  assert(found.size >= 10, `only ${found.size} DER codes found under ${root}`);
  for (const [name, code] of found) {
    assertEquals(DER[name as keyof typeof DER], code, `DER_${name}`);
    assert(!daosStatusString(-code).startsWith("DER_UNKNOWN"), `DER_${name} has no text`);
  }
});

Deno.test("envelope status: 0, negative DER of root cause, else -1025", () => {
  assertEquals(envelopeStatus(undefined), 0);
  assertEquals(envelopeStatus(null), 0);
  assertEquals(envelopeStatus(new Error("boom")), -1025);
  assertEquals(envelopeStatus(faults.ClientFormatRunningSystem()), -1025);
  const wrapped = wrapError(new DaosStatusError(-1005), "pool query failed");
  assertEquals(
    wrapped.message,
    "pool query failed: DER_NONEXIST(-1005): The specified entity does not exist",
  );
  assertEquals(envelopeStatus(wrapped), -1005);
});

Deno.test("rootCause follows wraps and stops at faults", () => {
  const f = faults.ClientFormatRunningSystem();
  assertEquals(rootCause(wrapError(wrapError(f, "a"), "b")), f);
  const plain = new Error("x");
  assertEquals(rootCause(plain), plain);
  // re-wrapping without cause (MS connection failure) loses the fault as root cause
  const rewrapped = new Error(`${f.message}: unable to contact the DAOS Management Service`);
  assert(!isFault(rootCause(rewrapped)));
});

Deno.test("every catalogue code sits in its domain's range; the flat table is their union", () => {
  let count = 0;
  for (const [domain, codes] of Object.entries(faultCodesByDomain)) {
    for (const [name, code] of Object.entries(codes)) {
      assertEquals(domainOfCode(code), domain, `${name} = ${code}`);
      assertEquals(FaultCode[name as keyof typeof FaultCode], code, name);
      count++;
    }
  }
  assertEquals(Object.keys(FaultCode).length, count, "no name is shadowed across domains");
  // Range edges (server.md §1.13).
  assertEquals(domainOfCode(99), "general");
  assertEquals(domainOfCode(100), "storage");
  assertEquals(domainOfCode(199), "storage");
  assertEquals(domainOfCode(200), "scm");
  assertEquals(domainOfCode(799), "serverconfig");
  assertEquals(domainOfCode(800), "spdk");
  assertEquals(domainOfCode(1099), "controlmetadata");
  assertEquals(domainOfCode(1100), "checker");
});

Deno.test("domain helpers derive the domain from the code and refuse a foreign code", () => {
  const built: [Fault, CatalogueDomain, number][] = [
    [generalFault("SocketFileInUse", "d"), "general", 6],
    [storageFault("StorageAlreadyFormatted", "d"), "storage", 101],
    [scmFault("ScmNoPMem", "d", "r"), "scm", 211],
    [bdevFault("BdevNotFound", "d"), "bdev", 304],
    [systemFault("SystemJoinMemberExists", "d"), "system", 404],
    [clientFault("ClientFormatRunningSystem", "d"), "client", 509],
    [serverFault("ServerUnknown", "d"), "server", 600],
    [serverConfigFault("ServerNoConfigPath", "d"), "serverconfig", 702],
    [securityFault("SecurityInvalidCert", "d"), "security", 903],
    [controlMetadataFault("ControlMetadataUnknown", "d"), "controlmetadata", 1000],
  ];
  for (const [f, domain, code] of built) {
    assertEquals([f.domain, f.code], [domain, code]);
    assertEquals(f.message, `${domain}: code = ${code} description = "d"`);
  }
  assertEquals(scmFault("ScmNoPMem", "d", "r").resolution, "r");
  const cause = new Error("inner");
  assertEquals(serverFault("ServerUnknown", "d", "", cause).cause, cause);
  // The types refuse a foreign name; the run-time check catches one that slips through a cast.
  const loose = scmFault as unknown as (code: string, description: string) => Fault;
  throws(() => loose("BdevNotFound", "d"), /BdevNotFound .* not in the scm range/);
  throws(() => loose("NoSuchCode", "d"), /NoSuchCode .* not in the scm range/);
});

Deno.test("faultFromWire keeps the peer's domain and code", () => {
  const f = faultFromWire({ domain: "future", code: 4242, description: "d", reason: "R" });
  assertEquals(f.message, 'future: code = 4242 description = "d"');
  assertEquals(f.reason, "R");
});

/** Every .ts file below `dir` (relative to the repository root). */
async function sourceFiles(dir: URL): Promise<URL[]> {
  const out: URL[] = [];
  for await (const e of Deno.readDir(dir)) {
    const u = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
    if (e.isDirectory) out.push(...await sourceFiles(u));
    else if (e.name.endsWith(".ts")) out.push(u);
  }
  return out;
}

Deno.test("source scan: faults are built only through the catalogue (no `new Fault(` elsewhere)", async () => {
  const repo = new URL("../../", import.meta.url);
  const self = new URL("./fault.ts", import.meta.url).href;
  const files = [
    ...await sourceFiles(new URL("control/", repo)),
    ...await sourceFiles(new URL("cli/", repo)),
  ];
  assert(files.some((u) => u.href === self), "the scan reaches control/lib/fault.ts");
  assert(files.length > 100, `${files.length} files scanned`);
  const offenders: string[] = [];
  for (const u of files) {
    if (u.href === self || u.pathname.endsWith("_test.ts")) continue;
    const text = await Deno.readTextFile(u);
    text.split("\n").forEach((line, i) => {
      if (/\bnew\s+Fault\s*\(/.test(line)) {
        offenders.push(`${u.pathname.slice(repo.pathname.length)}:${i + 1}`);
      }
    });
  }
  assertEquals(offenders, [], "use makeFault, faults.* or a domain helper (storageFault, …)");
});
