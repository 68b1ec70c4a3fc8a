/** Copies a child's output into the control log line by line, with a prefix. */

/** Longest line kept whole; longer output is split so one line cannot grow without bound. */
const MAX_LINE = 64 * 1024;

/**
 * Reads stream to its end and calls emit(`<prefix> <line>`) per line (a final unterminated
 * line included). Never throws: a read error ends the copy.
 */
export async function pipeLines(
  stream: ReadableStream<Uint8Array>,
  prefix: string,
  emit: (line: string) => void,
): Promise<void> {
  let pending = "";
  const flush = (line: string) => emit(`${prefix} ${line}`);
  try {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      pending += text;
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        flush(pending.slice(0, nl).replace(/\r$/, ""));
        pending = pending.slice(nl + 1);
      }
      while (pending.length > MAX_LINE) {
        flush(pending.slice(0, MAX_LINE));
        pending = pending.slice(MAX_LINE);
      }
    }
  } catch {
    // The child went away mid-read; what was read is logged below.
  }
  if (pending !== "") flush(pending);
}
