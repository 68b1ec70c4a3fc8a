/**
 * The NVMe health report of `dmg storage scan -n` (dmg.md §5.8), laid out as DAOS's
 * `pretty/storage_nvme.go` printNvmeHealth: `Health Stats:` (or `Health Stats Unavailable`),
 * `Critical Warnings:`, `Intel Vendor SMART Attributes:` and `PCIe Link Info:`.
 */
import type { BioHealthResp } from "../../proto/gen/ts/ctl/smd_pb.ts";

/** Zero-absolute-temperature offset used by DAOS's TempC(). */
const KELVIN_OFFSET = 273.15;

/**
 * Go's time.Duration String() for a whole number of seconds: `0s`, `5m0s`, `1h30m0s`. Counters
 * are uint64 on the wire, so this works on bigint (Go's int64 nanoseconds would wrap instead).
 */
export function goDuration(seconds: bigint): string {
  if (seconds <= 0n) return "0s";
  const h = seconds / 3600n;
  const m = (seconds % 3600n) / 60n;
  const s = seconds % 60n;
  if (h > 0n) return `${h}h${m}m${s}s`;
  if (m > 0n) return `${m}m${s}s`;
  return `${s}s`;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/**
 * DAOS's common.FormatTime: ISO 8601 in local time with microseconds and the zone offset
 * (`Z` for UTC), e.g. `2026-12-05T19:07:46.000000Z`; `N/A` for 0.
 */
export function formatTimestamp(secs: bigint): string {
  if (secs === 0n) return "N/A";
  const d = new Date(Number(secs) * 1000);
  if (Number.isNaN(d.getTime())) return `${secs} (out of range)`;
  const off = -d.getTimezoneOffset();
  const zone = off === 0
    ? "Z"
    : `${off > 0 ? "+" : "-"}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.000000${zone}`;
}

/**
 * Temperature as DAOS prints it, `318K(44.85C)`. A device without a sensor reports 0 K, which
 * would read as -273.15 C; that is printed `N/A` (as DAOS does for a zero timestamp).
 */
function temperature(kelvin: number): string {
  if (kelvin === 0) return "N/A";
  return `${kelvin}K(${(kelvin - KELVIN_OFFSET).toFixed(2)}C)`;
}

/** go-humanize SI() with Ftoa: `1 GT/s`, `2.5 GT/s`, `16 GT/s`. */
export function siRate(value: number, unit: string): string {
  const prefixes = ["", "k", "M", "G", "T", "P", "E"];
  let v = value;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < prefixes.length - 1) {
    v /= 1000;
    i++;
  }
  const num = v.toFixed(6).replace(/\.?0+$/, "");
  return `${num} ${prefixes[i]}${unit}`;
}

function warning(flag: boolean): string {
  return flag ? "WARNING" : "OK";
}

/**
 * The health report of one controller, each line prefixed by `indent` (the controller line's
 * own indent plus two spaces, as DAOS's indent writer does).
 */
export function formatNvmeHealth(h: BioHealthResp | undefined, indent = "  "): string {
  if (h === undefined) return `${indent}Health Stats Unavailable\n`;
  const sub = indent + "  ";
  const lines: string[] = [`${indent}Health Stats:`];
  const stat = (text: string) => lines.push(sub + text);
  const engineAnswered = h.timestamp > 0n;
  if (engineAnswered) stat(`Timestamp:${formatTimestamp(h.timestamp)}`);
  stat(`Temperature:${temperature(h.temperature)}`);
  if (h.warnTempTime > 0) {
    stat(`Temperature Warning Duration:${goDuration(BigInt(h.warnTempTime) * 60n)}`);
  }
  if (h.critTempTime > 0) {
    stat(`Temperature Critical Duration:${goDuration(BigInt(h.critTempTime) * 60n)}`);
  }
  stat(`Controller Busy Time:${goDuration(h.ctrlBusyTime * 60n)}`);
  stat(`Power Cycles:${h.powerCycles}`);
  stat(`Power On Duration:${goDuration(h.powerOnHours * 3600n)}`);
  stat(`Lifetime Used:${h.percentUsed}%`);
  stat(`Unsafe Shutdowns:${h.unsafeShutdowns}`);
  stat(`Media Errors:${h.mediaErrs}`);
  // The engine's own I/O counters exist only when an engine answered (timestamp set).
  if (engineAnswered) {
    stat(`Read Errors:${h.bioReadErrs}`);
    stat(`Write Errors:${h.bioWriteErrs}`);
    stat(`Unmap Errors:${h.bioUnmapErrs}`);
    stat(`Checksum Errors:${h.checksumErrs}`);
  }
  stat(`Error Log Entries:${h.errLogEntries}`);

  lines.push(`${indent}Critical Warnings:`);
  stat(`Temperature: ${warning(h.tempWarn)}`);
  stat(`Available Spare: ${warning(h.availSpareWarn)}`);
  stat(`Device Reliability: ${warning(h.devReliabilityWarn)}`);
  stat(`Read Only: ${warning(h.readOnlyWarn)}`);
  stat(`Volatile Memory Backup: ${warning(h.volatileMemWarn)}`);

  // Intel drives report a non-zero normalised program-fail count; others leave all 0.
  if (h.programFailCntNorm > 0) {
    lines.push(`${indent}Intel Vendor SMART Attributes:`);
    stat("Program Fail Count:");
    stat(`   Normalized:${h.programFailCntNorm & 0xff}%`);
    stat(`   Raw:${h.programFailCntRaw}`);
    stat("Erase Fail Count:");
    stat(`   Normalized:${h.eraseFailCntNorm & 0xff}%`);
    stat(`   Raw:${h.eraseFailCntRaw}`);
    stat("Wear Leveling Count:");
    stat(`   Normalized:${h.wearLevelingCntNorm & 0xff}%`);
    stat(`   Min:${h.wearLevelingCntMin & 0xffff}`);
    stat(`   Max:${h.wearLevelingCntMax & 0xffff}`);
    stat(`   Avg:${h.wearLevelingCntAvg & 0xffff}`);
    stat(`End-to-End Error Detection Count:${h.endtoendErrCntRaw}`);
    stat(`CRC Error Count:${h.crcErrCntRaw}`);
    stat(`Timed Workload, Media Wear:${h.mediaWearRaw}`);
    stat(`Timed Workload, Host Read/Write Ratio:${h.hostReadsRaw}`);
    stat(`Timed Workload, Timer:${h.workloadTimerRaw}`);
    stat(`Thermal Throttle Status:${h.thermalThrottleStatus & 0xff}%`);
    stat(`Thermal Throttle Event Count:${h.thermalThrottleEventCnt}`);
    stat(`Retry Buffer Overflow Counter:${h.retryBufferOverflowCnt}`);
    stat(`PLL Lock Loss Count:${h.pllLockLossCnt}`);
    stat(`NAND Bytes Written:${h.nandBytesWritten}`);
    stat(`Host Bytes Written:${h.hostBytesWritten}`);
  }

  // Emulated (file/kdev) devices have no PCIe link: every link field is 0.
  if (
    h.linkPortId > 0 || h.linkMaxSpeed > 0 || h.linkNegSpeed > 0 || h.linkMaxWidth > 0 ||
    h.linkNegWidth > 0
  ) {
    lines.push(`${indent}PCIe Link Info:`);
    stat(`Port: #${h.linkPortId}`);
    stat(`Max Speed: ${siRate(h.linkMaxSpeed, "T/s")}`);
    stat(`Negotiated Speed: ${siRate(h.linkNegSpeed, "T/s")}`);
    stat(`Max Width: x${h.linkMaxWidth}`);
    stat(`Negotiated Width: x${h.linkNegWidth}`);
  }
  return lines.join("\n") + "\n";
}
