/**
 * Test fixture: real bin/daos_server processes in discovery mode on 127.0.0.N with one shared
 * free port, each with its own temp config and socket dir, plus a bin/dmg runner. Everything
 * is removed by stop(), which tests call in finally.
 */
const top = new URL("../../", import.meta.url).pathname;
export const DAOS_SERVER = `${top}bin/daos_server`;
export const DMG = `${top}bin/dmg`;

/** A port free on every given loopback address right now. */
export function freePort(addrs: readonly string[]): number {
  for (let attempt = 0; attempt < 20; attempt++) {
    const probe = Deno.listen({ hostname: addrs[0], port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const held: Deno.Listener[] = [];
    try {
      for (const a of addrs) held.push(Deno.listen({ hostname: a, port }));
      return port;
    } catch {
      // Taken on another address: try another port.
    } finally {
      for (const l of held) l.close();
    }
  }
  throw new Error(`no port free on all of ${addrs.join(", ")}`);
}

/** One started server. */
export interface TestServer {
  addr: string;
  port: number;
  dir: string;
  configPath: string;
  socketDir: string;
  proc: Deno.ChildProcess;
  stderr: Promise<string>;
}

/** Writes a discovery-mode daos_server.yml for `addr`. */
export async function writeServerConfig(
  dir: string,
  addr: string,
  port: number,
  socketDir: string,
): Promise<string> {
  const path = `${dir}/daos_server.yml`;
  await Deno.writeTextFile(
    path,
    [
      "name: daos_server",
      `port: ${port}`,
      `control_address: ${addr}`,
      "transport_config:",
      "  allow_insecure: true",
      "control_log_mask: INFO",
      `socket_dir: ${socketDir}`,
      "engines: []",
      "",
    ].join("\n"),
  );
  return path;
}

/** Spawns bin/daos_server with `configPath`; stderr is collected. */
export function spawnServer(
  configPath: string,
): { proc: Deno.ChildProcess; stderr: Promise<string> } {
  const proc = new Deno.Command(DAOS_SERVER, {
    args: ["start", "-o", configPath],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(proc.stderr).text();
  return { proc, stderr };
}

/** Polls until `addr:port` accepts TCP connections (bounded: ~15 s). */
export async function waitListening(addr: string, port: number, proc?: Deno.ChildProcess) {
  let exited = false;
  proc?.status.then(() => (exited = true));
  for (let i = 0; i < 300; i++) {
    if (exited) throw new Error(`daos_server for ${addr}:${port} exited before listening`);
    try {
      const c = await Deno.connect({ hostname: addr, port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`daos_server on ${addr}:${port} did not start listening`);
}

/** A set of servers; stop() kills and removes everything, also after failures. */
export class ServerSet {
  readonly servers: TestServer[] = [];
  readonly root: string;
  readonly port: number;

  private constructor(root: string, port: number) {
    this.root = root;
    this.port = port;
  }

  /** Starts one server per address, all on one free port, and waits until they listen. */
  static async start(addrs: readonly string[]): Promise<ServerSet> {
    const root = await Deno.makeTempDir({ prefix: "ctl-test-" });
    const set = new ServerSet(root, freePort(addrs));
    try {
      for (const addr of addrs) {
        const dir = `${root}/${addr}`;
        const socketDir = `${dir}/sock`;
        await Deno.mkdir(socketDir, { recursive: true });
        const configPath = await writeServerConfig(dir, addr, set.port, socketDir);
        const { proc, stderr } = spawnServer(configPath);
        set.servers.push({ addr, port: set.port, dir, configPath, socketDir, proc, stderr });
      }
      await Promise.all(set.servers.map((s) => waitListening(s.addr, s.port, s.proc)));
      return set;
    } catch (e) {
      await set.stop();
      throw e;
    }
  }

  /** Writes a daos_control.yml pointing at the servers' port; returns its path. */
  async dmgConfig(): Promise<string> {
    const path = `${this.root}/daos_control.yml`;
    await Deno.writeTextFile(path, `port: ${this.port}\nhostlist: [${this.servers[0].addr}]\n`);
    return path;
  }

  /** Kills every server still running and removes the temp tree. */
  async stop(): Promise<void> {
    for (const s of this.servers) {
      try {
        s.proc.kill("SIGKILL");
      } catch { /* already exited */ }
      await s.proc.status;
      await s.stderr.catch(() => "");
    }
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }
}

/** Result of one dmg run. */
export interface DmgResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs bin/dmg with `args`. */
export async function runDmg(args: string[]): Promise<DmgResult> {
  const out = await new Deno.Command(DMG, { args, stdin: "null" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
