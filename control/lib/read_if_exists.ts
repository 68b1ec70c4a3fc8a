/** Reading a file that may legitimately be absent (not yet written, removed by a reset). */

/** The file's text, or null when it does not exist; other errors are thrown. */
export async function readTextIfExists(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}
