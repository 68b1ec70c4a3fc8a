import { deepEqual, equal, rejects, throws } from "node:assert/strict";
import { checkServerConfigText } from "../config/load.ts";
import { type NvmePrepRequest, processNvmePrepRequest, sanitizePciList } from "./storage.ts";

const REQ: NvmePrepRequest = {
  hugepageCount: 0,
  targetUser: "root",
  pciAllowList: "",
  pciBlockList: "",
  disableVfio: false,
  reset: false,
};

const yes = () => Promise.resolve(true);
const no = () => Promise.resolve(false);

Deno.test("sanitizePciList: comma or space lists, sorted and deduplicated, bad entries named", () => {
  equal(
    sanitizePciList("0000:81:00.0,0000:01:00.0,0000:81:00.0", "allow"),
    "0000:01:00.0 0000:81:00.0",
  );
  equal(sanitizePciList("0000:81:00.0 0000:01:00.0", "allow"), "0000:01:00.0 0000:81:00.0");
  equal(sanitizePciList("  ", "block"), "");
  throws(
    () => sanitizePciList("0000:01:00.0,81:00", "allow"),
    /invalid addresses in pci allow list: "81:00"/,
  );
});

Deno.test("processNvmePrepRequest: config fills what the CLI left empty; VFIO/IOMMU rules for non-root", async () => {
  const { config } = checkServerConfigText(
    "name: daos_server\nnr_hugepages: 512\nbdev_exclude: [0000:05:00.0]\nprovider: ofi+tcp\n" +
      "engines:\n- targets: 4\n  fabric_iface: eth0\n  fabric_iface_port: 31416\n" +
      "  log_file: /tmp/e.log\n  storage:\n  - class: ram\n    scm_mount: /mnt/d0\n" +
      "  - class: nvme\n    bdev_list: [0000:81:00.0, 0000:01:00.0]\n",
    "s.yml",
  );
  const r = await processNvmePrepRequest(REQ, config!, yes);
  deepEqual([r.hugepageCount, r.pciAllowList, r.pciBlockList], [
    512,
    "0000:01:00.0 0000:81:00.0",
    "0000:05:00.0",
  ]);
  // The CLI's values win.
  const cli = await processNvmePrepRequest(
    { ...REQ, hugepageCount: 8, pciAllowList: "0000:02:00.0" },
    config!,
    yes,
  );
  deepEqual([cli.hugepageCount, cli.pciAllowList], [8, "0000:02:00.0"]);

  await rejects(
    processNvmePrepRequest({ ...REQ, targetUser: "alice" }, undefined, no),
    /bdev: code = 311 description = "IOMMU capability is required/,
  );
  await rejects(
    processNvmePrepRequest({ ...REQ, targetUser: "alice", disableVfio: true }, undefined, yes),
    /bdev: code = 310 description = "VFIO can not be disabled if running as non-root user"/,
  );
  equal(
    (await processNvmePrepRequest({ ...REQ, targetUser: "alice" }, undefined, yes)).targetUser,
    "alice",
  );
  const off = { ...config!, disableHugepages: true };
  await rejects(
    processNvmePrepRequest(REQ, off, yes),
    /hugepage usage has been disabled in the config file/,
  );
  await rejects(
    processNvmePrepRequest({ ...REQ, pciAllowList: "x" }, undefined, yes),
    /^Error: sanitizing cli input pci address lists: invalid addresses in pci allow list: "x"/,
  );
});
