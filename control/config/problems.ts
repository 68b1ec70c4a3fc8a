/**
 * Collects every configuration problem with its file:line:col, so `config validate` can report
 * all of them at once and `loadServerConfig` can throw the first as a Fault.
 */

/** One problem found in a config file, located at a YAML node. */
export interface ConfigProblem {
  file: string;
  /** 1-based; 0 when the problem has no position (e.g. a missing required key in an empty file). */
  line: number;
  col: number;
  code: number;
  /** Fault description text (the reference's text where there is one). */
  message: string;
  resolution: string;
}

/** Formats a problem as `file:line:col: message`. */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.col}` : p.file;
  return `${where}: ${p.message}`;
}

/** Mutable list of problems plus a position resolver for the file being read. */
export class Problems {
  readonly list: ConfigProblem[] = [];
  constructor(
    readonly file: string,
    private readonly pos: (offset: number) => { line: number; col: number },
  ) {}

  /** Records a problem at a source offset (or -1 for none). */
  add(offset: number, code: number, message: string, resolution = ""): void {
    const { line, col } = offset >= 0 ? this.pos(offset) : { line: 0, col: 0 };
    this.list.push({ file: this.file, line, col, code, message, resolution });
  }

  get empty(): boolean {
    return this.list.length === 0;
  }
}
