/**
 * Progress display while ranks join: a cli-progress bar on a terminal, nothing otherwise
 * (logs and pipes get the final summary line from the caller instead).
 */
// @ts-types="@types/cli-progress"
import cliProgress from "cli-progress";
import process from "node:process";

/** A progress display: `update` as the count changes, `stop` once (idempotent). */
export interface Progress {
  update(done: number, detail: string): void;
  stop(): void;
}

/** A progress bar for `total` items when stderr is a terminal, else a no-op. */
export function joinProgress(label: string, total: number, tty: boolean): Progress {
  if (!tty) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar({
    format: `${label} [{bar}] {value}/{total} {detail}`,
    hideCursor: true,
    clearOnComplete: false,
    stream: process.stderr,
  }, cliProgress.Presets.shades_classic);
  bar.start(total, 0, { detail: "" });
  let stopped = false;
  return {
    update(done, detail) {
      if (!stopped) bar.update(done, { detail });
    },
    stop() {
      if (!stopped) bar.stop();
      stopped = true;
    },
  };
}
