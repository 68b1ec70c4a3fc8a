import { equal } from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { BioHealthRespSchema } from "../../proto/gen/ts/ctl/smd_pb.ts";
import { StorageScanRespSchema } from "../../proto/gen/ts/ctl/storage_pb.ts";
import { groupPayloads } from "../../control/lib/rpc/group.ts";
import { formatNvmeHealth, formatTimestamp, goDuration, siRate } from "./nvme_health.ts";
import { formatScanHealth, storageFingerprint } from "./storage_scan.ts";

Deno.test("goDuration prints Go's time.Duration form", () => {
  equal(goDuration(0n), "0s");
  equal(goDuration(5n), "5s");
  equal(goDuration(300n), "5m0s");
  equal(goDuration(5400n), "1h30m0s");
  equal(goDuration(3600n * 8760n), "8760h0m0s");
  // uint64 counters beyond Go's int64 nanoseconds still print their true value.
  equal(goDuration(18446744073709551615n * 3600n).endsWith("h0m0s"), true);
});

Deno.test("siRate prints go-humanize SI rates", () => {
  equal(siRate(1e9, "T/s"), "1 GT/s");
  equal(siRate(2.5e9, "T/s"), "2.5 GT/s");
  equal(siRate(16e9, "T/s"), "16 GT/s");
  equal(siRate(0, "T/s"), "0 T/s");
});

Deno.test("formatTimestamp: ISO 8601 with microseconds, N/A for 0", () => {
  equal(formatTimestamp(0n), "N/A");
  const text = formatTimestamp(1764961666n);
  equal(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000(Z|[+-]\d\d:\d\d)$/.test(text), true, text);
});

/** A drive that reports everything (values as DAOS's MockNvmeHealth uses them). */
function fullHealth() {
  return create(BioHealthRespSchema, {
    timestamp: 0n,
    temperature: 300,
    warnTempTime: 5,
    critTempTime: 6,
    ctrlBusyTime: 7n,
    powerCycles: 8n,
    powerOnHours: 9n,
    unsafeShutdowns: 10n,
    mediaErrs: 11n,
    errLogEntries: 12n,
    bioReadErrs: 13,
    bioWriteErrs: 14,
    bioUnmapErrs: 15,
    checksumErrs: 16,
    tempWarn: true,
    availSpareWarn: true,
    devReliabilityWarn: true,
    readOnlyWarn: true,
    volatileMemWarn: true,
    percentUsed: 3,
    programFailCntNorm: 27,
    programFailCntRaw: 28n,
    eraseFailCntNorm: 29,
    eraseFailCntRaw: 30n,
    wearLevelingCntNorm: 31,
    wearLevelingCntMin: 32,
    wearLevelingCntMax: 33,
    wearLevelingCntAvg: 34,
    endtoendErrCntRaw: 35n,
    crcErrCntRaw: 36n,
    mediaWearRaw: 37n,
    hostReadsRaw: 38n,
    workloadTimerRaw: 39n,
    thermalThrottleStatus: 40,
    thermalThrottleEventCnt: 41n,
    retryBufferOverflowCnt: 42n,
    pllLockLossCnt: 43n,
    nandBytesWritten: 44n,
    hostBytesWritten: 45n,
    linkPortId: 1,
    linkMaxSpeed: 1e9,
    linkMaxWidth: 4,
    linkNegSpeed: 1e9,
    linkNegWidth: 4,
  });
}

Deno.test("health report of a drive reporting everything: all four sub-sections", () => {
  equal(
    formatNvmeHealth(fullHealth()),
    "  Health Stats:\n" +
      "    Temperature:300K(26.85C)\n" +
      "    Temperature Warning Duration:5m0s\n" +
      "    Temperature Critical Duration:6m0s\n" +
      "    Controller Busy Time:7m0s\n" +
      "    Power Cycles:8\n" +
      "    Power On Duration:9h0m0s\n" +
      "    Lifetime Used:3%\n" +
      "    Unsafe Shutdowns:10\n" +
      "    Media Errors:11\n" +
      "    Error Log Entries:12\n" +
      "  Critical Warnings:\n" +
      "    Temperature: WARNING\n" +
      "    Available Spare: WARNING\n" +
      "    Device Reliability: WARNING\n" +
      "    Read Only: WARNING\n" +
      "    Volatile Memory Backup: WARNING\n" +
      "  Intel Vendor SMART Attributes:\n" +
      "    Program Fail Count:\n" +
      "       Normalized:27%\n" +
      "       Raw:28\n" +
      "    Erase Fail Count:\n" +
      "       Normalized:29%\n" +
      "       Raw:30\n" +
      "    Wear Leveling Count:\n" +
      "       Normalized:31%\n" +
      "       Min:32\n" +
      "       Max:33\n" +
      "       Avg:34\n" +
      "    End-to-End Error Detection Count:35\n" +
      "    CRC Error Count:36\n" +
      "    Timed Workload, Media Wear:37\n" +
      "    Timed Workload, Host Read/Write Ratio:38\n" +
      "    Timed Workload, Timer:39\n" +
      "    Thermal Throttle Status:40%\n" +
      "    Thermal Throttle Event Count:41\n" +
      "    Retry Buffer Overflow Counter:42\n" +
      "    PLL Lock Loss Count:43\n" +
      "    NAND Bytes Written:44\n" +
      "    Host Bytes Written:45\n" +
      "  PCIe Link Info:\n" +
      "    Port: #1\n" +
      "    Max Speed: 1 GT/s\n" +
      "    Negotiated Speed: 1 GT/s\n" +
      "    Max Width: x4\n" +
      "    Negotiated Width: x4\n",
  );
});

Deno.test("storage scan -n: an engine's answer for a file bdev (timestamp, no sensor)", () => {
  const ts = 1764961666n;
  const resp = create(StorageScanRespSchema, {
    nvme: {
      ctrlrs: [{
        pciAddr: "/tmp/bdev0",
        model: "AIO file",
        fwRev: "",
        socketId: 0,
        namespaces: [{ id: 1, size: 1073741824n }],
        healthStats: { timestamp: ts, totalBytes: 1073741824n, availBytes: 1073741824n },
      }, {
        pciAddr: "0000:81:00.0",
        model: "evicted",
        fwRev: "1.0",
        socketId: 1,
        namespaces: [{ id: 1, size: 2000000000000n }],
      }],
    },
  });
  const groups = groupPayloads([{ addr: "host1:10001", payload: resp }], storageFingerprint);
  equal(
    formatScanHealth(groups),
    "-----\nhost1\n-----\n" +
      "PCI:/tmp/bdev0 Model:AIO file FW: Socket:0 Capacity:1.1 GB\n" +
      "  Health Stats:\n" +
      `    Timestamp:${formatTimestamp(ts)}\n` +
      "    Temperature:N/A\n" +
      "    Controller Busy Time:0s\n" +
      "    Power Cycles:0\n" +
      "    Power On Duration:0s\n" +
      "    Lifetime Used:0%\n" +
      "    Unsafe Shutdowns:0\n" +
      "    Media Errors:0\n" +
      "    Read Errors:0\n" +
      "    Write Errors:0\n" +
      "    Unmap Errors:0\n" +
      "    Checksum Errors:0\n" +
      "    Error Log Entries:0\n" +
      "  Critical Warnings:\n" +
      "    Temperature: OK\n" +
      "    Available Spare: OK\n" +
      "    Device Reliability: OK\n" +
      "    Read Only: OK\n" +
      "    Volatile Memory Backup: OK\n" +
      "\n" +
      "PCI:0000:81:00.0 Model:evicted FW:1.0 Socket:1 Capacity:2.0 TB\n" +
      "  Health Stats Unavailable\n" +
      "\n",
  );
});

Deno.test("storage scan -n: a host without controllers gets no empty line after the notice", () => {
  const groups = groupPayloads(
    [{ addr: "host2:10001", payload: create(StorageScanRespSchema, { nvme: {} }) }],
    storageFingerprint,
  );
  equal(formatScanHealth(groups), "-----\nhost2\n-----\n  No NVMe devices detected\n");
});
