/**
 * Printers for `dmg system get-attr|get-prop` (the reference's prettyPrintAttrs /
 * prettyPrintSysProps): a Name/Value table, or a line saying there is nothing, and the `-j`
 * payload shapes (get-attr: `{"attributes": {…}}`, get-prop: a list of key/value/description).
 */
import type { SystemProperty } from "../../control/lib/control/system_attrs.ts";
import { formatTable } from "../../control/lib/txtfmt.ts";
import type { GoJsonValue } from "../output/gojson.ts";

/** get-attr's table (rows in key order) or `No system attributes found.` */
export function printAttrs(attrs: Readonly<Record<string, string>>): string {
  const rows = Object.entries(attrs).map(([Name, Value]) => ({ Name, Value }));
  if (rows.length === 0) return "No system attributes found.\n";
  return formatTable(["Name", "Value"], rows);
}

/** get-attr's `-j` payload (a Go map: keys sorted; none is Go's nil map, `null`). */
export function attrsJson(attrs: Readonly<Record<string, string>>): GoJsonValue {
  const entries = Object.entries(attrs);
  return { attributes: entries.length > 0 ? new Map(entries) : null };
}

/** get-prop's table, `Description (name)` per row, or `No system properties found.` */
export function printProps(props: readonly SystemProperty[]): string {
  if (props.length === 0) return "No system properties found.\n";
  return formatTable(
    ["Name", "Value"],
    props.map((p) => ({
      Name: p.description === "" ? p.key : `${p.description} (${p.key})`,
      Value: p.value,
    })),
  );
}

/** get-prop's `-j` payload. */
export function propsJson(props: readonly SystemProperty[]): GoJsonValue {
  return props.map((p) => ({ key: p.key, value: p.value, description: p.description }));
}
