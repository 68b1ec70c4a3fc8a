/**
 * Simulated hosts for scale benches: one process runs H real daos_servers (startDaosServer,
 * each with its own config, socket dir, control address 127.0.x.y and engines), host 0 being
 * the only MS replica with its etcd member. Engines are real processes of a light program
 * (the stand-in built by standin.ts). Format and everything after it go through the real
 * control API, so the caller drives the system with bin/dmg.
 *
 * `deno run -A sim_hosts.ts --dir D --hosts H --engines E --engine PROGRAM`
 * prints one JSON line ({@link SimReady}) once every server listens, then runs until SIGTERM
 * or SIGINT, when it stops every server (engines, MS, listeners) and exits 0.
 *
 * Run it in a private mount namespace (`unshare --mount --propagation private`): format mounts
 * one tmpfs per engine, and those then vanish with the process whatever happens.
 */
import { parseArgs } from "node:util";
import { checkServerConfigText } from "../../../control/config/load.ts";
import type { ServerConfig } from "../../../control/config/types.ts";
import { type DaosServer, startDaosServer } from "../../../control/server/daos_server.ts";
import { createLogger, type Logger } from "../../../control/server/logging.ts";
import { freePort } from "../../cluster/local_cluster.ts";

/** What the simulator prints once it is up. */
export interface SimReady {
  /** Control addresses "ip:port", host 0 (the MS replica) first. */
  hosts: string[];
  /** Control port shared by every host. */
  port: number;
  /** Seconds from process start-up to every server listening. */
  startSec: number;
}

/** Control IP of simulated host i (0-based): 127.0.1.1 … 127.0.1.250, 127.0.2.1, … */
export function hostIp(i: number): string {
  return `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

/** daos_server.yml text of host i (ram SCM only: no bdev files to allocate). */
export function hostConfigText(o: {
  dir: string;
  index: number;
  engines: number;
  port: number;
  replica: string;
  dbClient: number;
  dbPeer: number;
}): string {
  const ip = hostIp(o.index);
  const hd = `${o.dir}/h${o.index}`;
  let text = [
    "name: daos_server",
    `port: ${o.port}`,
    `control_address: ${ip}`,
    `mgmt_svc_replicas: [${o.replica}]`,
    "provider: ofi+tcp",
    `socket_dir: ${hd}/run`,
    "system_ram_reserved: 1",
    `fault_path: /sim${o.index}`,
    "transport_config:",
    "  allow_insecure: true",
    "mgmt_svc_db:",
    `  client_port: ${o.dbClient}`,
    `  peer_port: ${o.dbPeer}`,
    // Two cores run hundreds of servers and a thousand engines here: a probe answered late
    // must not mark a whole host Unresponsive in the middle of a measurement.
    "  host_dead_after_ms: 30000",
    // The MS's probes and every host's answers share this one process and the 2 cores dmg is
    // measured on: at the default 500 ms, 512 hosts kept the simulator near a full core.
    "  probe_interval_ms: 5000",
    "engines:",
  ].join("\n") + "\n";
  for (let e = 0; e < o.engines; e++) {
    text += [
      "  - targets: 1",
      "    nr_xs_helpers: 0",
      "    fabric_iface: lo",
      `    fabric_iface_port: ${31416 + e}`,
      // Each host's engines listen on the host's own loopback address.
      `    env_vars: [DAOS_FABRIC_ADDR=${ip}]`,
      `    log_file: ${hd}/engine${e}.log`,
      "    storage:",
      "      - class: ram",
      `        scm_mount: ${hd}/scm${e}`,
      "        scm_size: 4",
    ].join("\n") + "\n";
  }
  return text;
}

function parseConfig(text: string, path: string): ServerConfig {
  const r = checkServerConfigText(text, path);
  if (!r.config || r.problems.length > 0) {
    throw new Error(`simulated host config ${path} is invalid: ${JSON.stringify(r.problems)}`);
  }
  return r.config;
}

/** A logger writing to the shared log with the host's index in front. */
function hostLogger(shared: Logger, index: number): Logger {
  const p = `h${index} `;
  return {
    trace: (m) => shared.trace(p + m),
    debug: (m) => shared.debug(p + m),
    info: (m) => shared.info(p + m),
    notice: (m) => shared.notice(p + m),
    error: (m) => shared.error(p + m),
    close: () => {},
  };
}

function positive(name: string, v: string | undefined, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new Error(`invalid --${name} "${v}": give an integer in 1..${max}`);
  }
  return n;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      dir: { type: "string" },
      hosts: { type: "string" },
      engines: { type: "string", default: "2" },
      engine: { type: "string" },
      "log-mask": { type: "string", default: "NOTICE" },
    },
  });
  if (!values.dir || !values.engine) throw new Error("--dir and --engine are required");
  const dir = values.dir;
  const hosts = positive("hosts", values.hosts, 2000);
  const engines = positive("engines", values.engines, 8);
  const ips = Array.from({ length: hosts }, (_, i) => hostIp(i));
  const port = freePort(ips);
  const replica = `${ips[0]}:${port}`;
  const dbClient = freePort();
  const dbPeer = freePort();
  const log = createLogger({ mask: values["log-mask"], file: `${dir}/control.log`, json: false });
  const servers: DaosServer[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = () => {
    stopping ??= (async () => {
      await Promise.all(servers.map((s) => s.stop().catch(() => {})));
      log.close();
    })();
    return stopping;
  };
  const onSignal = () => stopAll().then(() => Deno.exit(0));
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    for (let i = 0; i < hosts; i++) {
      const hd = `${dir}/h${i}`;
      await Deno.mkdir(`${hd}/run`, { recursive: true });
      const path = `${hd}/daos_server.yml`;
      const text = hostConfigText({ dir, index: i, engines, port, replica, dbClient, dbPeer });
      await Deno.writeTextFile(path, text);
      const cfg = parseConfig(text, path);
      servers.push(await startDaosServer(cfg, hostLogger(log, i), { enginePath: values.engine }));
    }
  } catch (e) {
    await stopAll();
    throw e;
  }
  const ready: SimReady = {
    hosts: servers.map((s) => s.address),
    port,
    startSec: (performance.now() - t0) / 1000,
  };
  console.log(JSON.stringify(ready));
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error(`sim_hosts: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
