/**
 * dmg.md §1.3: a sub-command flag that collides with a global flag wins inside that
 * sub-command (`server set-logmasks -d` is `--streams`, not `--debug`). Commander lets the
 * program parse its options anywhere on the line, so before parsing, a colliding flag after
 * the sub-command's name is rewritten to a form only the sub-command knows: a short flag to
 * the sub-command's long name, a long flag `--x` to the sub-command's hidden `--leaf-x`.
 */
import type { Command, Option } from "commander";

/** The hidden long name a sub-command gives its flag `--<name>` that a global flag shadows. */
export function leafAlias(name: string): string {
  return `--leaf-${name}`;
}

function byFlag(cmd: Command, flag: string): Option | undefined {
  return cmd.options.find((o) => o.short === flag || o.long === flag);
}

/** `args` with flags after the chosen sub-command that collide with global ones rewritten. */
export function preferLeafFlags(program: Command, args: readonly string[]): string[] {
  const out = [...args];
  let leaf = program;
  let at = -1;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--") break;
    const sub = leaf.commands.find((c) => c.name() === args[i] || c.aliases().includes(args[i]));
    if (sub) {
      leaf = sub;
      at = i;
    }
  }
  if (leaf === program) return out;
  for (let i = at + 1; i < out.length; i++) {
    const a = out[i];
    if (a === "--") break;
    if (/^-[^-]/.test(a)) {
      const flag = a.slice(0, 2);
      const mine = byFlag(leaf, flag);
      if (mine?.long && byFlag(program, flag)) {
        const rest = a.slice(2);
        out[i] = rest === "" ? mine.long : `${mine.long}=${rest}`;
      }
    } else if (a.startsWith("--")) {
      const [name, ...val] = a.split("=");
      const alias = leafAlias(name.slice(2));
      if (byFlag(program, name) && byFlag(leaf, name) && byFlag(leaf, alias)) {
        out[i] = val.length > 0 ? `${alias}=${val.join("=")}` : alias;
      }
    }
  }
  return out;
}
