/**
 * A Connect-protocol client Transport whose unary calls go straight to node:http2 streams of
 * connect-node's Http2SessionManager (same sessions, dialing, PINGs and reconnects as
 * connect-node's own transport), built from Connect's own protocol pieces (runUnaryCall for
 * interceptors, deadline and cancellation; request headers, response validation, error JSON,
 * size limits) so that callers see the same requests, answers and errors.
 *
 * Why: connect-node's HTTP client wraps every call in async iterables, a sentinel (which makes
 * a ConnectError, stack trace included, at the end of every successful call), Headers copies
 * and three HTTP/2 frames for the request; in Deno that is ~0.3 ms CPU per call. A
 * 1024-host fan-out spent 320 ms of client CPU where node:http2 itself needs ~110 ms
 * (tests/bench/scenarios/fanout_floor.ts). Streaming calls are rare here (SystemFollowEvents)
 * and go through connect-node's transport unchanged.
 */
import type { DescMessage, DescMethodUnary } from "@bufbuild/protobuf";
import {
  appendHeaders,
  Code,
  ConnectError,
  type ContextValues,
  createContextValues,
  type Interceptor,
  type Transport,
  type UnaryResponse,
} from "@connectrpc/connect";
import {
  type Compression,
  createAsyncIterable,
  createMethodSerializationLookup,
  createMethodUrl,
  readAllBytes,
  runUnaryCall,
} from "@connectrpc/connect/protocol";
import {
  errorFromJsonBytes,
  headerUnaryContentLength,
  headerUnaryEncoding,
  requestHeaderWithCompression,
  trailerDemux,
  validateResponseWithCompression,
} from "@connectrpc/connect/protocol-connect";
import {
  compressionBrotli,
  compressionGzip,
  type Http2SessionManager,
} from "@connectrpc/connect-node";
import type * as http2 from "node:http2";

/** Options of {@link createLightTransport}. */
export interface LightTransportOptions {
  /** "http://host:port" or "https://host:port": the session manager's authority. */
  baseUrl: string;
  sessionManager: Http2SessionManager;
  interceptors: Interceptor[];
  readMaxBytes: number;
  writeMaxBytes: number;
  /** Carries streaming calls (connect-node's transport over the same session manager). */
  streaming: Transport;
}

// connect-node's defaults, so servers compress (or not) exactly as before.
const ACCEPT_COMPRESSION: Compression[] = [compressionGzip, compressionBrotli];

/** HTTP/2 RST_STREAM codes as connect-node maps them to Connect codes. */
const RST_CODES: Record<number, [string, Code]> = {
  1: ["PROTOCOL_ERROR", Code.Internal],
  2: ["INTERNAL_ERROR", Code.Internal],
  3: ["FLOW_CONTROL_ERROR", Code.Internal],
  4: ["SETTINGS_TIMEOUT", Code.Internal],
  6: ["FRAME_SIZE_ERROR", Code.Internal],
  7: ["REFUSED_STREAM", Code.Unavailable],
  8: ["CANCEL", Code.Canceled],
  9: ["COMPRESSION_ERROR", Code.Internal],
  10: ["CONNECT_ERROR", Code.Internal],
  11: ["ENHANCE_YOUR_CALM", Code.ResourceExhausted],
  12: ["INADEQUATE_SECURITY", Code.PermissionDenied],
  13: ["HTTP_1_1_REQUIRED", Code.PermissionDenied],
};

function errorFromRstCode(rst: number | undefined): ConnectError | undefined {
  const m = rst === undefined ? undefined : RST_CODES[rst];
  if (!m) return undefined;
  return new ConnectError(
    `http/2 stream closed with error code ${m[0]} (0x${rst!.toString(16)})`,
    m[1],
  );
}

function nodeCodes(reason: unknown): string[] {
  const codes: string[] = [];
  const seen = new Set<unknown>();
  while (reason instanceof Error && !seen.has(reason)) {
    seen.add(reason);
    const code = (reason as { code?: unknown }).code;
    if (typeof code === "string") codes.push(code);
    reason = (reason as { cause?: unknown }).cause;
  }
  return codes;
}

/** connect-node's mapping of Node.js errors to ConnectErrors (node-error.ts there). */
function errorFromNodeReason(reason: unknown): ConnectError {
  if (reason instanceof ConnectError) return reason;
  const codes = nodeCodes(reason);
  let code = Code.Internal;
  if (
    codes.some((c) =>
      c === "ERR_STREAM_WRITE_AFTER_END" || c === "ERR_STREAM_DESTROYED" ||
      c === "ERR_HTTP2_INVALID_STREAM" || c === "ECONNRESET"
    )
  ) {
    code = Code.Aborted;
  } else if (
    codes.some((c) =>
      c === "ETIMEDOUT" || c === "ENOTFOUND" || c === "EAI_AGAIN" || c === "ECONNREFUSED"
    )
  ) {
    code = Code.Unavailable;
  }
  const ce = ConnectError.from(reason, code);
  if (ce !== reason) ce.cause = reason;
  return ce;
}

/** Node.js response headers as web Headers, pseudo-headers left out (as connect-node). */
function webHeaders(h: http2.IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(h)) {
    if (k.startsWith(":") || v === undefined) continue;
    if (Array.isArray(v)) { for (const e of v) out.append(k, e); }
    else out.append(k, String(v));
  }
  return out;
}

function nodeHeaders(h: Headers): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  h.forEach((v, k) => {
    out[k] = v;
  });
  return out;
}

interface RawResponse {
  status: number;
  header: Headers;
  body: Uint8Array;
}

/**
 * One request/response exchange on a stream of `sm`: the body is sent with the headers'
 * stream in one write, the answer read whole (bounded by readMaxBytes). Rejects with the
 * ConnectError connect-node's client would give for the same failure; `signal` (aborted by
 * runUnaryCall on deadline, cancellation or completion) resets the stream.
 */
function exchange(
  sm: Http2SessionManager,
  path: string,
  reqHeader: Headers,
  body: Uint8Array,
  signal: AbortSignal,
  readMaxBytes: number,
): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    let settled = false;
    let stream: http2.ClientHttp2Stream | undefined;
    let status = 0;
    let header = new Headers();
    const chunks: Uint8Array[] = [];
    let count = 0;
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      const ce = errorFromNodeReason(e);
      // As connect-node: CANCEL for a cancelled call, INTERNAL_ERROR for anything else.
      if (stream && !stream.closed) stream.close(ce.code === Code.Canceled ? 8 : 2);
      reject(ce);
    };
    const onAbort = () => {
      const r: unknown = signal.reason;
      fail(r instanceof Error ? r : new ConnectError("This operation was aborted", Code.Canceled));
    };
    if (signal.aborted) return onAbort();
    // Also while the session is still being set up: a deadline must not wait for the dial.
    signal.addEventListener("abort", onAbort);
    const attach = (s: http2.ClientHttp2Stream) => {
      stream = s;
      if (settled) {
        s.close(8);
        return;
      }
      s.on("response", (h) => {
        status = Number(h[":status"] ?? 0);
        header = webHeaders(h);
      });
      s.on("data", (c: Uint8Array) => {
        if (settled) return;
        count += c.byteLength;
        chunks.push(c);
        sm.notifyResponseByteRead(s);
        if (count > readMaxBytes) {
          // Connect's own reader gives the error (same text as connect-node's client).
          readAllBytes(createAsyncIterable(chunks), readMaxBytes).catch(fail);
        }
      });
      s.on("error", (e: Error) => {
        if (s.writableEnded && nodeCodes(e).includes("ERR_STREAM_WRITE_AFTER_END")) return;
        fail(e);
      });
      s.on("close", () => {
        const err = errorFromRstCode(s.rstCode);
        if (err) fail(err);
      });
      s.on("end", () => {
        if (settled) return;
        const hint = header.get(headerUnaryContentLength);
        const whole = chunks.length === 1 && hint === null
          ? Promise.resolve(chunks[0])
          : readAllBytes(createAsyncIterable(chunks), readMaxBytes, hint);
        whole.then((b) => {
          if (settled) return;
          settled = true;
          signal.removeEventListener("abort", onAbort);
          resolve({ status, header, body: b });
        }, fail);
      });
      s.end(body);
    };
    sm.request("POST", path, nodeHeaders(reqHeader), {}).then(attach, fail);
  });
}

/** A Connect-protocol Transport with light unary calls (see the module comment). */
export function createLightTransport(o: LightTransportOptions): Transport {
  const authority = new URL(o.baseUrl).origin;
  // Per method: serializers (with the size limits) and URL path, built once, not per call.
  const perMethod = new Map<
    unknown,
    { ser: ReturnType<typeof createMethodSerializationLookup>; path: string; url: string }
  >();
  const lookup = (method: DescMethodUnary) => {
    let m = perMethod.get(method);
    if (!m) {
      const url = createMethodUrl(o.baseUrl, method);
      const ser = createMethodSerializationLookup(method, undefined, undefined, {
        readMaxBytes: o.readMaxBytes,
        writeMaxBytes: o.writeMaxBytes,
      });
      m = { ser, url, path: new URL(url).pathname };
      perMethod.set(method, m);
    }
    return m;
  };
  return {
    async unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      message: unknown,
      contextValues?: ContextValues,
    ): Promise<UnaryResponse<I, O>> {
      const m = lookup(method as DescMethodUnary);
      const timeout = timeoutMs === undefined || timeoutMs <= 0 ? undefined : timeoutMs;
      return await runUnaryCall<I, O>({
        interceptors: o.interceptors,
        signal,
        timeoutMs: timeout,
        req: {
          stream: false,
          service: method.parent,
          method,
          requestMethod: "POST",
          url: m.url,
          header: requestHeaderWithCompression(
            method.methodKind,
            true,
            timeout,
            header,
            ACCEPT_COMPRESSION,
            null,
            true,
          ),
          contextValues: contextValues ?? createContextValues(),
          message: message as never,
        },
        next: async (req) => {
          if (new URL(req.url).origin !== authority) {
            throw new ConnectError(
              `cannot make a request to ${
                new URL(req.url).origin
              }: the http2 session is connected to ${authority}`,
              Code.Internal,
            );
          }
          const body = m.ser.getI(true).serialize(req.message);
          // Never compressed (no send compression, as connect-node's default).
          req.header.delete(headerUnaryEncoding);
          const res = await exchange(
            o.sessionManager,
            m.path,
            req.header,
            body,
            req.signal,
            o.readMaxBytes,
          );
          const { compression, isUnaryError, unaryError } = validateResponseWithCompression(
            method.methodKind,
            ACCEPT_COMPRESSION,
            true,
            res.status,
            res.header,
          );
          const [hdr, trailer] = trailerDemux(res.header);
          let bytes = res.body;
          if (compression) bytes = await compression.decompress(bytes, o.readMaxBytes);
          if (isUnaryError) {
            throw errorFromJsonBytes(bytes, appendHeaders(hdr, trailer), unaryError!);
          }
          return {
            stream: false,
            service: method.parent,
            method,
            header: hdr,
            message: m.ser.getO(true).parse(bytes),
            trailer,
          } as UnaryResponse<I, O>;
        },
      });
    },
    stream: (...args) => o.streaming.stream(...args),
  };
}
