/** Finds the source position of a key path (e.g. ["engines", 0, "fabric_iface"]) in a document. */
import { type Document, isMap, isScalar, isSeq, type LineCounter } from "yaml";
import { offsetOf } from "./yaml_reader.ts";

/** A key path segment: map key or list index. */
export type PathSegment = string | number;

/** Offset of the deepest node found along `path` (the whole path when it exists), or -1. */
export function locateOffset(doc: Document, path: readonly PathSegment[]): number {
  let node: unknown = doc.contents;
  let best = offsetOf(node);
  for (const seg of path) {
    if (typeof seg === "number" && isSeq(node)) {
      node = node.items[seg];
    } else if (typeof seg === "string" && isMap(node)) {
      const p = node.items.find((i) => isScalar(i.key) && String(i.key.value) === seg);
      if (!p) break;
      node = p.value ?? p.key;
    } else break;
    const off = offsetOf(node);
    if (off < 0) break;
    best = off;
  }
  return best;
}

/** A position resolver for a parsed file. */
export function locator(doc: Document, lc: LineCounter) {
  return (path: readonly PathSegment[]): { line: number; col: number } => {
    const off = locateOffset(doc, path);
    return off >= 0 ? lc.linePos(off) : { line: 0, col: 0 };
  };
}
