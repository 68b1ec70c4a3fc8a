import { deepEqual as assertEquals, throws } from "node:assert/strict";
import { engineConfig } from "../../tests/util/config_fixtures.ts";
import { engineArgs, engineEnv } from "./engine_launch.ts";

const fileTier = {
  tier: 1,
  class: "file" as const,
  bdevList: ["/tmp/daos-bdev"],
  bdevSize: 4,
  bdevNumber: 0,
  bdevBusidRange: null,
  bdevRoles: [],
  roleBits: 0,
};

Deno.test("engine arguments without bdevs", () => {
  assertEquals(engineArgs(engineConfig(), { socketDir: "/run/daos" }), [
    ...["-t", "8", "-x", "2", "-g", "daos_server", "-d", "/run/daos", "-I", "1"],
    ...["-T", "1", "-s", "/mnt/daos1"],
  ]);
});

Deno.test("engine arguments with a bdev tier, pinning, check mode", () => {
  const args = engineArgs(
    engineConfig({ bdevs: [fileTier], firstCore: 0, pinnedNumaNode: 1, modules: "vos,rdb" }),
    { socketDir: "/run/daos", checkMode: true, memSizeMiB: 8192, hugepageSizeMiB: 2 },
  );
  assertEquals(args, [
    ...["-t", "8", "-x", "2", "-f", "0", "-p", "1", "-m", "vos,rdb"],
    ...["-g", "daos_server", "-d", "/run/daos", "-I", "1", "-T", "2", "-s", "/mnt/daos1"],
    ...["-n", "/mnt/daos1/daos_nvme.conf", "-r", "8192", "-H", "2", "-C"],
  ]);
});

Deno.test("-m only for a set module list, and never for a list that is not plain names", () => {
  const m = (modules: string) => {
    const a = engineArgs(engineConfig({ modules }), { socketDir: "/r" });
    const i = a.indexOf("-m");
    return i < 0 ? null : a[i + 1];
  };
  assertEquals(m(""), null);
  assertEquals(m("mgmt"), "mgmt");
  assertEquals(m("mgmt,pool"), "mgmt,pool");
  for (const bad of ["../mgmt", "mgmt,", "mgmt,mgmt", "a b"]) {
    throws(() => m(bad), /engine 1: modules: .*write module names separated by commas/, bad);
  }
});

Deno.test("engine without an SCM tier is refused with the fix", () => {
  throws(
    () => engineArgs(engineConfig({ scm: null }), { socketDir: "/r" }),
    /engine 1: no scm_mount set/,
  );
});

Deno.test("engine environment: fabric, logs, env_vars, pass-through, fix-ups", () => {
  const env = engineEnv(
    engineConfig({
      envVars: ["FI_SOCKETS_CONN_TIMEOUT=2000", "D_LOG_FILE_APPEND_PID=1"],
      envPassThrough: ["MY_VAR"],
      bdevs: [fileTier],
    }),
    { PATH: "/usr/bin", HOME: "/root", MY_VAR: "x", SECRET: "no" },
  );
  assertEquals(env, {
    PATH: "/usr/bin",
    HOME: "/root",
    MY_VAR: "x",
    D_PROVIDER: "ofi+tcp",
    D_INTERFACE: "lo",
    D_PORT: "31416",
    CRT_TIMEOUT: "30",
    FI_OFI_RXM_USE_SRX: "1",
    D_LOG_MASK: "INFO",
    D_LOG_FILE: "/tmp/daos_engine.1.log",
    FI_SOCKETS_CONN_TIMEOUT: "2000",
    D_LOG_FILE_APPEND_PID: "1",
    VOS_BDEV_CLASS: "AIO",
    PMEMOBJ_CONF: "sds.at_create=0",
    DAOS_SERVER_PID: String(Deno.pid),
  });
});

Deno.test("port 0 omits D_PORT, crt_timeout 0 is passed as 0 (the engine's default); disable_srx and auth key are passed", () => {
  const e = engineConfig();
  e.fabric = {
    ...e.fabric,
    fabricIfacePort: 0,
    crtTimeout: 0,
    disableSrx: true,
    fabricAuthKey: "k",
  };
  const env = engineEnv(e, {});
  assertEquals([env.D_PORT, env.CRT_TIMEOUT, env.FI_OFI_RXM_USE_SRX, env.D_PROVIDER_AUTH_KEY], [
    undefined,
    "0",
    "0",
    "k",
  ]);
});

Deno.test("PMEMOBJ_CONF with sds.at_create=1 is an error on non-DCPM SCM", () => {
  throws(
    () => engineEnv(engineConfig({ envVars: ["PMEMOBJ_CONF=sds.at_create=1"] }), {}),
    /engine 1: PMEMOBJ_CONF "sds.at_create=1".*remove it from env_vars/,
  );
  const env = engineEnv(engineConfig({ envVars: ["PMEMOBJ_CONF=prefault.at_open=1"] }), {});
  assertEquals(env.PMEMOBJ_CONF, "prefault.at_open=1;sds.at_create=0");
});

Deno.test("ABT_THREAD_STACKSIZE: added for DCPM/UCX/MD-on-SSD, user values too small refused", () => {
  const dcpm = engineConfig();
  dcpm.scm = { ...dcpm.scm!, class: "dcpm", scmList: ["/dev/pmem0"] };
  assertEquals(engineEnv(dcpm, {}).ABT_THREAD_STACKSIZE, "20480");
  assertEquals(engineEnv(dcpm, {}).PMEMOBJ_CONF, undefined);
  const ucx = engineConfig();
  ucx.fabric = { ...ucx.fabric, provider: "ucx+dc_x" };
  assertEquals(engineEnv(ucx, {}).ABT_THREAD_STACKSIZE, "32768");
  const md = engineConfig({ controlMetadataPath: "/var/daos" });
  assertEquals(engineEnv(md, {}).ABT_THREAD_STACKSIZE, "24576");
  const dcpmUcx = { ...dcpm, fabric: ucx.fabric };
  assertEquals(engineEnv(dcpmUcx, {}).ABT_THREAD_STACKSIZE, "32768");
  throws(
    () => engineEnv({ ...dcpm, envVars: ["ABT_THREAD_STACKSIZE=4096"] }, {}),
    /ABT_THREAD_STACKSIZE=4096 is too small with DCPM SCM; set it to at least 20480/,
  );
  assertEquals(
    engineEnv({ ...dcpm, envVars: ["ABT_THREAD_STACKSIZE=65536"] }, {}).ABT_THREAD_STACKSIZE,
    "65536",
  );
});

Deno.test("env_vars entries must be KEY=VALUE", () => {
  throws(() => engineEnv(engineConfig({ envVars: ["NOVALUE"] }), {}), /"NOVALUE" is not KEY=VALUE/);
});

Deno.test("DD_SUBSYS in env_vars is folded into D_LOG_MASK", () => {
  const env = engineEnv(engineConfig({ logMask: "DEBUG", envVars: ["DD_SUBSYS=MGMT,BIO"] }), {});
  assertEquals(env.D_LOG_MASK, "ERR,MGMT=DBUG,BIO=DBUG");
  assertEquals(env.DD_SUBSYS, "MGMT,BIO");
  const plain = engineEnv(engineConfig({ logMask: "DEBUG" }), {});
  assertEquals(plain.D_LOG_MASK, "DEBUG");
});
