/**
 * One daos_server per socket directory. The claim is a listening Unix socket
 * `<socket_dir>/daos_server.lock`: a second server that can connect to it knows the directory
 * is served and is refused with fault 6 (SocketFileInUse); a socket file nobody listens on is
 * left over from a killed server and is taken over. (A pid file cannot be used: Deno needs
 * --allow-all to look at another process in /proc.)
 */
import { type Fault, generalFault } from "../lib/fault.ts";

/** The held claim; release() closes and removes the socket. */
export interface InstanceLock {
  readonly path: string;
  release(): void;
}

/** The fault for a socket directory already served by another daos_server. */
export function socketInUseFault(path: string): Fault {
  return generalFault(
    "SocketFileInUse",
    `Configured socket file '${path}' is already in use by another daos_server`,
    "stop the daos_server using this socket_dir, or configure a different socket_dir",
  );
}

async function someoneListens(path: string): Promise<boolean> {
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Claims `socketDir` for this process. Throws fault 6 when a live server holds it, and an
 * error naming socket_dir when the directory is missing (server.md §1.2).
 */
export async function claimSocketDir(socketDir: string): Promise<InstanceLock> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(socketDir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`missing socket directory ${socketDir}: create it or set socket_dir`);
    }
    // e.g. permission denied on a parent: "missing" would send the user the wrong way
    throw new Error(
      `cannot access socket directory ${socketDir}: ${(e as Error).message}: ` +
        "fix its permissions or set socket_dir to an accessible directory",
    );
  }
  if (!st.isDirectory) {
    throw new Error(`socket_dir ${socketDir} is not a directory: set socket_dir to a directory`);
  }
  const path = `${socketDir}/daos_server.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    let listener: Deno.UnixListener;
    try {
      listener = Deno.listen({ transport: "unix", path });
    } catch (e) {
      if (!(e instanceof Deno.errors.AddrInUse)) throw e;
      if (await someoneListens(path)) throw socketInUseFault(path);
      // Left over from a server that died without cleaning up.
      await Deno.remove(path).catch(() => {});
      continue;
    }
    // Probes only check that we listen; close what they open.
    (async () => {
      try {
        for await (const conn of listener) conn.close();
      } catch { /* listener closed */ }
    })();
    let released = false;
    return {
      path,
      release: () => {
        if (released) return;
        released = true;
        listener.close();
        try {
          Deno.removeSync(path);
        } catch { /* already gone */ }
      },
    };
  }
  throw new Error(`cannot claim socket_dir ${socketDir}: ${path} keeps being re-created`);
}
