/**
 * The `-j` JSON envelope (dmg.md §4.6): exactly one pretty document
 * `{"response": …, "error": …, "status": …}` with a trailing newline.
 */
import { envelopeStatus, errorText } from "../../control/lib/fault.ts";
import { type GoJsonValue, goMarshalIndent } from "./gojson.ts";

/**
 * Renders the envelope. `error` is the unwrapped command error (no "… failed:" prefix);
 * status is 0 without error, the negative DER code of a DAOS-status root cause, else -1025.
 */
export function formatEnvelope(response: GoJsonValue, error?: unknown): string {
  const failed = error !== undefined && error !== null;
  return goMarshalIndent({
    response: response ?? null,
    error: failed ? errorText(error) : null,
    status: failed ? envelopeStatus(error) : 0,
  }) + "\n";
}

/**
 * Guarantees the "exactly one document" rule: a command writes its envelope through
 * `write`; `finish` writes the `response: null` envelope only if none was written.
 */
export class EnvelopeWriter {
  #written = false;
  readonly #out: (text: string) => void;

  /** `out` receives the whole document in one call (normally stdout). */
  constructor(out: (text: string) => void) {
    this.#out = out;
  }

  /** Whether an envelope has been written. */
  get written(): boolean {
    return this.#written;
  }

  /** Writes the envelope; a second call is a programming error and throws. */
  write(response: GoJsonValue, error?: unknown): void {
    if (this.#written) throw new Error("JSON envelope already written for this command");
    this.#written = true;
    this.#out(formatEnvelope(response, error));
  }

  /**
   * Writes one compact JSON document as a line (`dmg system events -j`: one object per event,
   * for following); the command then writes no envelope.
   */
  writeLine(json: string): void {
    this.claim();
    this.#out(json + "\n");
  }

  /** The command writes JSON lines (maybe none): no envelope at its end, nor on its error. */
  claim(): void {
    this.#written = true;
  }

  /** At command end: writes `{"response": null, …}` if the command produced no envelope. */
  finish(error?: unknown): void {
    if (!this.#written) this.write(null, error);
  }
}
