/**
 * The engine module list (server.md §1.3 `modules`, daos_engine `-m`): comma-separated module
 * names, each selecting lib<name>.so in the engine's module directory
 * (engine-ffi/native/src/module.h). The same rule as the engine's, so a bad list is a config
 * error instead of an engine that fails to start.
 */

/** Longest module name (DSS_MODULE_NAME_MAX). */
export const MODULE_NAME_MAX = 32;
/** Longest -m value the engine accepts (its 256-byte buffer). */
export const MODULE_LIST_MAX = 255;

const NAME = new RegExp(`^[A-Za-z0-9_]{1,${MODULE_NAME_MAX}}$`);

/**
 * Why `list` is not a valid module list, or null when it is. "" is valid: no `-m`, the
 * engine's default modules.
 */
export function moduleListProblem(list: string): string | null {
  if (list === "") return null;
  if (list.length > MODULE_LIST_MAX) {
    return `module list is ${list.length} characters long (at most ${MODULE_LIST_MAX})`;
  }
  const seen = new Set<string>();
  for (const [i, name] of list.split(",").entries()) {
    if (!NAME.test(name)) {
      return `module ${i + 1} ${JSON.stringify(name)} is not a module name ` +
        `(1..${MODULE_NAME_MAX} letters, digits or '_', names separated by single commas)`;
    }
    if (seen.has(name)) return `module "${name}" is listed twice`;
    seen.add(name);
  }
  return null;
}

/** What to write instead of a bad module list. */
export const MODULE_LIST_FIX = 'write module names separated by commas, e.g. "mgmt", ' +
  "each once, or remove the key for the engine's default modules";

/**
 * `daos_server start -m/--modules <list>`: as in DAOS, the server-level list replaces every
 * engine's `modules`. Throws on a list that is not valid (naming the flag and the fix).
 */
export function applyModulesFlag(engines: Array<{ modules: string }>, list: string): void {
  const bad = list === "" ? "empty module list" : moduleListProblem(list);
  if (bad !== null) throw new Error(`invalid --modules "${list}": ${bad}; ${MODULE_LIST_FIX}`);
  for (const e of engines) e.modules = list;
}
