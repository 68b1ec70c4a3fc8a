/** A sleep that can be cut short: the supervision loops' pause, ended early by stop(). */
export class Sleeper {
  #wake: (() => void) | null = null;

  /** Resolves after `ms`, or at once when {@link wake} is called meanwhile. */
  async sleep(ms: number): Promise<void> {
    await new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      this.#wake = () => {
        clearTimeout(t);
        r();
      };
    });
    this.#wake = null;
  }

  /** Ends the sleep in progress, if any. */
  wake(): void {
    this.#wake?.();
  }
}
