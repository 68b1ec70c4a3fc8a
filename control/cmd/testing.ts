/** Test doubles for the daos_server CLI: a host with fixed facts and captured output. */
import { fakeStorageSource } from "../ctl/testing.ts";
import type { NvmeCtrlr } from "../sysinfo/nvme.ts";
import type { NetInterface } from "../sysinfo/netif.ts";
import type { CmdIO, HostDeps, PmemFacts, SyslogSink } from "./context.ts";
import { main } from "./program.ts";

/** Two kernel-bound NVMe SSDs on sockets 0 and 1. */
export const FAKE_NVME: NvmeCtrlr[] = [
  {
    pciAddr: "0000:81:00.0",
    model: "INTEL SSDPE2KE016T8",
    serial: "S1",
    fwRev: "VDV10170",
    socketId: 1,
    namespaces: [{ id: 1, sizeBytes: 1_600_321_314_816 }],
  },
  {
    pciAddr: "0000:01:00.0",
    model: "SAMSUNG MZ1LB1T9",
    serial: "S2",
    fwRev: "EDA5202Q",
    socketId: 0,
    namespaces: [{ id: 1, sizeBytes: 1_920_383_410_176 }],
  },
];

/** eth0 (TCP) on NUMA 0 and ib0 (verbs + TCP) on NUMA 1. */
export const FAKE_IFACES: NetInterface[] = [
  { name: "eth0", addresses: ["10.0.0.1"], numaNode: 0, netDevClass: 1, rdma: false },
  { name: "ib0", addresses: ["10.1.0.1"], numaNode: 1, netDevClass: 32, rdma: true },
  { name: "lo", addresses: ["127.0.0.1"], numaNode: 0, netDevClass: 772, rdma: false },
];

/** Syslog lines captured in memory. */
export class MemorySyslog implements SyslogSink {
  lines: string[] = [];
  write(level: string, msg: string): void {
    this.lines.push(`${level}: ${msg}`);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A host with {@link FAKE_NVME}, {@link FAKE_IFACES}, no PMem, no SPDK; `over` replaces. */
export function fakeHost(over: Partial<HostDeps> = {}): HostDeps {
  return {
    storage: (engines) =>
      fakeStorageSource([...engines], { nvme: () => Promise.resolve(FAKE_NVME) }),
    network: (configuredProvider) => ({
      configuredProvider,
      interfaces: () => Promise.resolve(FAKE_IFACES),
      topology: () => Promise.resolve({ numaCount: 2, coresPerNuma: 8 }),
    }),
    pmem: (): Promise<PmemFacts> => Promise.resolve({ modules: 0, namespaces: [] }),
    spdkSetup: () => Promise.resolve(undefined),
    httpPost: () => Promise.reject(new Error("no answer from http://fake")),
    tcpProbe: () => Promise.resolve(false),
    syslog: () => new MemorySyslog(),
    defaultConfigPath: "/nonexistent/daos_server.yml",
    ...over,
  };
}

/** One run's exit status and output. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with `host`. */
export async function runCli(args: string[], host: HostDeps = fakeHost()): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  const io: CmdIO = { out: (t) => (stdout += t), err: (t) => (stderr += t) };
  const code = await main(args, io, host);
  return { code, stdout, stderr };
}

/** Writes `text` as daos_server.yml in a new temp dir; returns its path. */
export async function tempConfig(text: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dsrv-cli-" });
  const path = `${dir}/daos_server.yml`;
  await Deno.writeTextFile(path, text);
  return path;
}
