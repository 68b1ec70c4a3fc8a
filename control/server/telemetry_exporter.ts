/**
 * The Prometheus exporter of daos_server (server.md §8): `/metrics` lists every ready local
 * engine's shared-memory telemetry (read at scrape time, no dRPC) plus the control-plane
 * metrics, `/` is a small HTML page. Sources are added when an engine becomes ready and removed
 * when it exits; an engine that vanishes during a scrape only drops its own metrics.
 */
import { type EngineMetrics, readEngineMetrics } from "../../engine-ffi/telemetry.ts";
import { addEngineMetrics, FamilySet, renderFamilies } from "./telemetry_format.ts";
import { errorText } from "../lib/fault.ts";

/** Reads the telemetry tree of one engine instance (throws when it has none). */
export type EngineReader = (instanceIdx: number) => EngineMetrics;

/** Exporter of engine sources and extra (control-plane) text. */
export class TelemetryExporter {
  readonly #sources = new Map<number, number>(); // instance index → rank
  readonly #read: EngineReader;
  readonly #extra: () => Promise<string>;
  readonly #log: (m: string) => void;
  readonly #beforeScrape: () => void;

  /**
   * `extra` renders further metrics (the control plane's) appended to each scrape;
   * `beforeScrape` may update the sources first (daos_server: from the harness).
   */
  constructor(
    read: EngineReader,
    extra: () => Promise<string>,
    log: (m: string) => void,
    beforeScrape: () => void = () => {},
  ) {
    this.#read = read;
    this.#extra = extra;
    this.#log = log;
    this.#beforeScrape = beforeScrape;
  }

  /** Adds (or re-ranks) the source of engine instance `idx`, ready as rank `rank`. */
  addSource(idx: number, rank: number): void {
    this.#sources.set(idx, rank);
  }

  /** Removes the source of engine instance `idx` (it exited). */
  removeSource(idx: number): void {
    this.#sources.delete(idx);
  }

  /** Instance indexes with a source (sorted). */
  sources(): number[] {
    return [...this.#sources.keys()].sort((a, b) => a - b);
  }

  /** One scrape in the Prometheus text format. */
  async scrape(): Promise<string> {
    this.#beforeScrape();
    const out = new FamilySet();
    const timings: [string, string, number][] = [];
    for (const idx of this.sources()) {
      const rank = this.#sources.get(idx);
      if (rank === undefined) continue;
      const t0 = performance.now();
      let result = "ok";
      try {
        addEngineMetrics(out, rank, this.#read(idx).metrics);
      } catch (e) {
        // The engine exited (or its tree went) between its ready and this scrape.
        result = "error";
        this.#log(`telemetry of engine ${idx} (rank ${rank}) not read: ${errorText(e)}`);
      }
      timings.push([`engine_${idx}`, result, (performance.now() - t0) / 1000]);
    }
    for (const [source, result, secs] of timings) {
      out.add(
        "engine_exporter_scrape_duration_seconds",
        "gauge",
        "Time taken to read an engine's telemetry in the last scrape",
        { source, result },
        secs,
      );
    }
    let extra = "";
    try {
      extra = await this.#extra();
    } catch (e) {
      this.#log(`control-plane metrics not rendered: ${errorText(e)}`);
    }
    return renderFamilies(out.families()) + extra;
  }
}

/** The reader of the engines of `system` whose trees live in `dir` (DAOS_TM_DIR). */
export function engineTreeReader(system: string, dir: string): EngineReader {
  return (idx) => readEngineMetrics(system, idx, { dir });
}

const INDEX_HTML = `<html>
<head><title>DAOS Engine Telemetry</title></head>
<body>
<h1>DAOS Engine Telemetry</h1>
<p><a href="/metrics">Metrics</a></p>
</body>
</html>
`;

/** A running exporter HTTP server. */
export interface TelemetryServer {
  /** "host:port" bound. */
  readonly address: string;
  /** Stops the server (in-flight scrapes get at most 1 s, §8). */
  close(): Promise<void>;
}

/** Serves `exporter` on host:port (port 0 = any free port). Throws when it cannot bind. */
export function serveTelemetry(
  exporter: TelemetryExporter,
  host: string,
  port: number,
): Promise<TelemetryServer> {
  const ac = new AbortController();
  return new Promise((resolve, reject) => {
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = Deno.serve({
        hostname: host,
        port,
        signal: ac.signal,
        onListen: (a) => {
          resolve({
            address: `${a.hostname}:${a.port}`,
            close: async () => {
              ac.abort();
              let timer: ReturnType<typeof setTimeout> | undefined;
              await Promise.race([
                server.finished,
                new Promise((r) => timer = setTimeout(r, 1000)),
              ]);
              clearTimeout(timer);
            },
          });
        },
        onError: (e) => new Response(`internal error: ${errorText(e)}\n`, { status: 500 }),
      }, async (req) => {
        const path = new URL(req.url).pathname;
        if (req.method !== "GET" && req.method !== "HEAD") {
          return new Response("method not allowed\n", { status: 405 });
        }
        if (path === "/metrics") {
          return new Response(await exporter.scrape(), {
            headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
          });
        }
        if (path === "/") {
          return new Response(INDEX_HTML, { headers: { "content-type": "text/html" } });
        }
        return new Response("not found: try /metrics\n", { status: 404 });
      });
    } catch (e) {
      reject(
        new Error(
          `telemetry_port ${port}: cannot listen on ${host}:${port}: ${errorText(e)} ` +
            `(choose a free port in daos_server.yml telemetry_port, or 0 to disable)`,
        ),
      );
    }
  });
}
