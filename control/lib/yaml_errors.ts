/** Wording of YAML parser errors shared by daos_server.yml and daos_control.yml loading. */

/**
 * First line of a YAML parser error; the parser's own stack overflow on deeply nested input
 * (`[[[[...`) is named as what it is.
 */
export function yamlErrorText(message: string): string {
  const first = message.split("\n")[0];
  return /Maximum call stack size exceeded/.test(first)
    ? "nesting too deep (lists or maps nested thousands of levels)"
    : first;
}
