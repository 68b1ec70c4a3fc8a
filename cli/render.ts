/**
 * dmg's one output path (dmg.md §4): every command ends in `render(ctx, output)`, which writes
 * the `-j` envelope or the text lines, then fails the command with its error (`<prefix>:
 * <error>` for the fatal line, the error without the prefix in the envelope). A request that
 * fails outright goes through `request`, with the same split.
 */
import { wrapError } from "../control/lib/fault.ts";
import type { CommandContext } from "./commands/context.ts";
import type { GoJsonValue } from "./output/gojson.ts";

/** One text-mode record: the log level and its text ("" prints nothing). */
export type Line = readonly ["info" | "error" | "notice", string];

/** What a command prints. Payload and text are built only in their own mode. */
export interface Output {
  /** The `-j` response payload. */
  json: () => GoJsonValue;
  /** Text mode: records in print order (stdout for info, stderr for error/notice). */
  text: () => readonly Line[];
  /** The command's error, without the command prefix (exit status 1). */
  error?: string | Error;
  /**
   * `-j` mode reports the error only inside the payload (its host_errors) and exits 0
   * (storage query usage, dmg.md §5.10).
   */
  jsonErrorInPayload?: boolean;
}

function withPrefix(err: Error, prefix: string): Error {
  return prefix === "" ? err : new Error(`${prefix}: ${err.message}`);
}

/** Prints `out` in the selected mode and throws its error (prefixed by `prefix`) if any. */
export function render(ctx: CommandContext, out: Output, prefix = ""): void {
  const err = typeof out.error === "string" ? new Error(out.error) : out.error;
  if (ctx.json) {
    if (out.jsonErrorInPayload) {
      ctx.envelope.write(out.json());
      return;
    }
    ctx.envelope.write(out.json(), err);
  } else {
    for (const [level, text] of out.text()) if (text !== "") ctx.log[level](text);
  }
  if (err !== undefined) throw withPrefix(err, prefix);
}

/**
 * Runs a command's request. Its failure is the command's: `-j` writes the envelope with the
 * error as it is, and the error is thrown with `prefix` (kept as its cause) for the fatal line.
 */
export async function request<T>(
  ctx: CommandContext,
  prefix: string,
  body: () => Promise<T>,
): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (ctx.json) ctx.envelope.write(null, e);
    throw prefix === "" ? e : wrapError(e, prefix);
  }
}
