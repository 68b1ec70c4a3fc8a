/** bin/daos_server command-line errors (no server started). */
import { equal } from "node:assert/strict";

const top = new URL("../../", import.meta.url).pathname;

async function daosServer(...args: string[]) {
  const out = await new Deno.Command(`${top}bin/daos_server`, { args, stdin: "null" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("daos_server: an unknown command or option exits 1 naming it and pointing at --help", async () => {
  const hint = "(add --help for the commands and options)\n";
  for (
    const [args, first] of [
      [["frob"], "error: unknown command 'frob'"],
      [["start", "--bogus"], "error: unknown option '--bogus'"],
      [["config", "validate", "--x"], "error: unknown option '--x'"],
    ] as const
  ) {
    const r = await daosServer(...args);
    equal(r.code, 1, args.join(" "));
    equal(r.stdout, "");
    equal(r.stderr, `${first}\n${hint}`);
  }
});
