import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { parseMeminfo } from "./meminfo.ts";
import { NetDevClass, providersFor, readInterfaces } from "./netif.ts";
import { readNvmeControllers, scanNvme } from "./nvme.ts";
import { findMount, parseMountinfo, statfs, statfsForTest } from "./statfs.ts";
import { parseCpuList } from "./sysfs.ts";
import { readTopology } from "./topology.ts";

/** Builds a fake sysfs tree from path → content; returns its root; caller removes it. */
async function fakeSys(files: Record<string, string>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "sysfs-" });
  for (const [p, content] of Object.entries(files)) {
    const full = `${root}/${p}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(full, content);
  }
  return root;
}

Deno.test("parseMeminfo reads the hugepage and memory counters", () => {
  const m = parseMeminfo(
    "MemTotal:       16314424 kB\nMemFree:         1000 kB\nMemAvailable:    2000 kB\n" +
      "HugePages_Total:     512\nHugePages_Free:      500\nHugePages_Rsvd:        1\n" +
      "HugePages_Surp:        2\nHugepagesize:       2048 kB\n",
  );
  deepEqual(m, {
    hugepagesTotal: 512,
    hugepagesFree: 500,
    hugepagesReserved: 1,
    hugepagesSurplus: 2,
    hugepageSizeKb: 2048,
    memTotalKb: 16314424,
    memFreeKb: 1000,
    memAvailableKb: 2000,
  });
  throws(() => parseMeminfo("garbage"), /no MemTotal/);
});

Deno.test("parseCpuList expands kernel lists and names bad input", () => {
  deepEqual(parseCpuList("0-3,8,10-11\n"), [0, 1, 2, 3, 8, 10, 11]);
  deepEqual(parseCpuList(""), []);
  throws(() => parseCpuList("3-1"), /invalid CPU list "3-1"/);
  throws(() => parseCpuList("a"), /invalid CPU list/);
});

Deno.test("parseMountinfo decodes octal escapes and the fs type", () => {
  const text = "36 35 98:0 / /mnt/daos\\0401 rw,noatime master:1 - tmpfs tmpfs rw,size=1g\n" +
    "37 35 98:0 / /proc rw - proc proc rw\n";
  deepEqual(parseMountinfo(text), [
    { mountPoint: "/mnt/daos 1", fsType: "tmpfs", source: "tmpfs" },
    { mountPoint: "/proc", fsType: "proc", source: "proc" },
  ]);
});

Deno.test("readInterfaces: sysfs class/numa/rdma, addresses from the OS; providers", async () => {
  const root = await fakeSys({
    "class/net/eth0/type": "1\n",
    "class/net/eth0/device/numa_node": "1\n",
    "class/net/ib0/type": "32\n",
    "class/net/ib0/device/numa_node": "-1\n",
    "class/net/ib0/device/infiniband/mlx5_0/x": "",
    "class/net/lo/type": "772\n",
    "class/net/down0/type": "1\n",
  });
  try {
    const ifs = await readInterfaces(root, [
      { name: "eth0", address: "10.0.0.5", family: "IPv4" },
      { name: "ib0", address: "192.168.1.5", family: "IPv4" },
      { name: "lo", address: "127.0.0.1", family: "IPv4" },
      { name: "lo", address: "::1", family: "IPv6" },
    ]);
    deepEqual(ifs.map((i) => [i.name, i.numaNode, i.netDevClass, i.rdma]), [
      ["eth0", 1, NetDevClass.ether, false],
      ["ib0", 0, NetDevClass.infiniband, true],
      ["lo", 0, NetDevClass.loopback, false],
    ]);
    deepEqual(ifs[2].addresses, ["127.0.0.1", "::1"]);
    deepEqual(providersFor(ifs[1]), [
      "ofi+verbs;ofi_rxm",
      "ofi+verbs",
      "ofi+tcp;ofi_rxm",
      "ofi+tcp",
    ]);
    deepEqual(providersFor({ ...ifs[0], addresses: ["fe80::1"] }), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

const PCI = "bus/pci/devices";

Deno.test("scanNvme: NVMe PCI devices by class 0x0108xx, whichever driver holds them", async () => {
  const dev = (addr: string, cls: string, numa: string) => ({
    [`${PCI}/${addr}/class`]: `${cls}\n`,
    [`${PCI}/${addr}/vendor`]: "0x8086\n",
    [`${PCI}/${addr}/device`]: "0x0a54\n",
    [`${PCI}/${addr}/numa_node`]: `${numa}\n`,
  });
  const root = await fakeSys({
    ...dev("0000:81:00.0", "0x010802", "1"),
    ...dev("0000:00:1f.2", "0x010601", "0"), // SATA AHCI, not NVMe
    ...dev("0000:5e:00.0", "0x010802", "-1"),
    [`${PCI}/0000:5e:00.0/nvme/nvme0/model`]: "M\n",
  });
  try {
    const devs = await scanNvme(root);
    deepEqual(devs.map(({ ctrlr: _, ...d }) => d), [
      { pciAddr: "0000:5e:00.0", vendorId: "0x8086", deviceId: "0x0a54", numaNode: 0 },
      { pciAddr: "0000:81:00.0", vendorId: "0x8086", deviceId: "0x0a54", numaNode: 1 },
    ]);
    // Bound to the kernel driver: its controller comes along; bound to vfio (no nvme/): none.
    equal(devs[0].ctrlr?.model, "M");
    equal(devs[1].ctrlr, undefined);
    deepEqual(await scanNvme(`${root}/missing`), []);
    // Not a directory: a real failure, reported with the path instead of "no devices".
    await Deno.writeTextFile(`${root}/plain`, "");
    await Deno.mkdir(`${root}/plain2/bus/pci`, { recursive: true });
    await Deno.writeTextFile(`${root}/plain2/${PCI}`, "");
    await rejects(
      () => scanNvme(`${root}/plain2`),
      /scanning NVMe controllers in .*plain2\/bus\/pci\/devices failed/,
    );
    await rejects(() => scanNvme(`${root}/plain`), /scanning NVMe controllers in .*plain\//);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("readNvmeControllers: none is an empty list; controllers with namespaces", async () => {
  const empty = await fakeSys({});
  const root = await fakeSys({
    [`${PCI}/0000:81:00.0/class`]: "0x010802\n",
    [`${PCI}/0000:81:00.0/numa_node`]: "1\n",
    [`${PCI}/0000:81:00.0/nvme/nvme1/address`]: "0000:81:00.0\n",
    [`${PCI}/0000:81:00.0/nvme/nvme1/model`]: "INTEL SSDPE2KE016T8 \n",
    [`${PCI}/0000:81:00.0/nvme/nvme1/serial`]: "PHLN0001\n",
    [`${PCI}/0000:81:00.0/nvme/nvme1/firmware_rev`]: "VDV10170\n",
    [`${PCI}/0000:81:00.0/nvme/nvme1/nvme1n1/size`]: "3125627568\n",
    [`${PCI}/0000:01:00.0/class`]: "0x010802\n",
    [`${PCI}/0000:01:00.0/nvme/nvme0/address`]: "0000:01:00.0\n",
    // Handed to SPDK (vfio-pci): a device, but no kernel controller to report.
    [`${PCI}/0000:02:00.0/class`]: "0x010802\n",
  });
  try {
    deepEqual(await readNvmeControllers(empty), []);
    const cs = await readNvmeControllers(root);
    deepEqual(cs.map((c) => c.pciAddr), ["0000:01:00.0", "0000:81:00.0"]);
    equal(cs[1].model, "INTEL SSDPE2KE016T8");
    equal(cs[1].serial, "PHLN0001");
    equal(cs[1].fwRev, "VDV10170");
    equal(cs[1].socketId, 1);
    deepEqual(cs[1].namespaces, [{ id: 1, sizeBytes: 3125627568 * 512 }]);
    deepEqual(cs[0].namespaces, []);
  } finally {
    await Deno.remove(empty, { recursive: true });
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("readTopology: NUMA nodes and online CPUs", async () => {
  const root = await fakeSys({
    "devices/system/node/node0/cpulist": "0-3",
    "devices/system/node/node1/cpulist": "4-7",
    "devices/system/node/possible": "0-1",
    "devices/system/cpu/online": "0-7\n",
  });
  try {
    deepEqual(await readTopology(root), { numaCount: 2, coresPerNuma: 4 });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("statfs and findMount on the real host", async () => {
  const u = await statfs("/");
  ok(u.totalBytes > 0 && u.availBytes <= u.totalBytes, JSON.stringify(u));
  // statfs(2) through FFI agrees with `stat -f` (a tmpfs of fixed size: nothing else writes it).
  const dir = await Deno.makeTempDir({ prefix: "statfs-test-" });
  try {
    await new Deno.Command("mount", { args: ["-t", "tmpfs", "-o", "size=8m", "none", dir] })
      .output();
    equal((await findMount(dir))?.fsType, "tmpfs");
    ok(statfsForTest.usesFfi(), "libc's statfs could not be opened");
    const [ffi, cmd] = [await statfs(dir), await statfsForTest.command(dir)];
    deepEqual(ffi, cmd);
    equal(ffi.totalBytes, 8 * 1024 * 1024);
  } finally {
    await new Deno.Command("umount", { args: [dir] }).output();
    await Deno.remove(dir);
  }
  equal((await findMount("/proc"))?.fsType, "proc");
  equal(await findMount("/no/such/mount"), undefined);
  let msg = "";
  try {
    await statfs("/no/such/path");
  } catch (e) {
    msg = String(e);
  }
  ok(msg.includes("statfs /no/such/path:"), msg);
});
