/**
 * Test helper: a TCP listener on 127.0.0.1 that accepts connections and never sends a byte,
 * the way a stopped (SIGSTOP) or wedged daos_server looks to a client.
 */
import * as net from "node:net";

/** A running silent listener. */
export interface SilentListener {
  /** "127.0.0.1:port". */
  address: string;
  /** Connections accepted so far. */
  accepted(): number;
  /** Connections the client has closed so far. */
  closedByClient(): number;
  /** Resolves once `n` connections were closed by the client (bounded by `limitMs`). */
  waitClosed(n: number, limitMs: number): Promise<boolean>;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

/** Starts a silent listener on an ephemeral loopback port. */
export async function silentListener(): Promise<SilentListener> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  let closed = 0;
  let onClosed: (() => void) | undefined;
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => {
      sockets.delete(s);
      closed++;
      onClosed?.();
    });
    s.resume(); // read and drop whatever the client sends
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    accepted: () => accepted,
    closedByClient: () => closed,
    waitClosed: async (n, limitMs) => {
      const end = Date.now() + limitMs;
      while (closed < n && Date.now() < end) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.max(1, end - Date.now()));
          onClosed = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
      onClosed = undefined;
      return closed >= n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
