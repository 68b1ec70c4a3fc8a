/** Waiting for the signals that stop daos_server (SIGINT, SIGTERM). */

/** Resolves with the first stop signal received; removes its listeners afterwards. */
export function waitForStopSignal(
  signals: readonly Deno.Signal[] = ["SIGINT", "SIGTERM"],
): Promise<Deno.Signal> {
  return new Promise((resolve) => {
    const handlers = signals.map((sig) => {
      const h = () => {
        for (const [s, fn] of handlers) Deno.removeSignalListener(s, fn);
        resolve(sig);
      };
      Deno.addSignalListener(sig, h);
      return [sig, h] as const;
    });
  });
}
