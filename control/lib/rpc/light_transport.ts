/**
 * A Connect-protocol client Transport whose unary calls go straight to node:http2 streams of
 * connect-node's Http2SessionManager (same sessions, dialing, PINGs and reconnects as
 * connect-node's own transport), built from Connect's own protocol pieces (request headers,
 * serialization with the size limits, response validation, error JSON, body reader) and
 * Connect's call semantics (interceptors, deadline, cancellation: see runUnary), so that
 * callers see the same requests, answers and errors.
 *
 * Why: connect-node's HTTP client wraps every call in async iterables, a sentinel (which makes
 * a ConnectError, stack trace included, at the end of every successful call), Headers copies
 * and three HTTP/2 frames for the request; in Deno that is ~0.3 ms CPU per call. A
 * 1024-host fan-out spent 320 ms of client CPU where node:http2 itself needs ~110 ms
 * (tests/bench/scenarios/fanout_floor.ts). Streaming calls are rare here (SystemFollowEvents)
 * and go through connect-node's transport unchanged.
 */
import {
  create,
  type DescMessage,
  type DescMethodUnary,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import {
  appendHeaders,
  Code,
  ConnectError,
  type ContextValues,
  createContextValues,
  type Interceptor,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import {
  type Compression,
  createAsyncIterable,
  createMethodSerializationLookup,
  createMethodUrl,
  readAllBytes,
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
 * runUnary on deadline or cancellation) resets the stream.
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
        // No sm.notifyResponseByteRead(s) per chunk: each restarts the session's PING timer
        // (a setTimeout per call, ~10% of a wide fan-out's CPU), and the "response" event just
        // before did the same. A body slower than the PING interval gets one PING, answered.
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
        // The usual answer (one chunk, as long as promised) without Connect's async reader;
        // anything else through it, for its checks and error texts.
        const plain = chunks.length === 1 && count <= readMaxBytes &&
          (hint === null || parseInt(hint, 10) === count);
        const whole = plain
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

type UnaryNext = (req: UnaryRequest) => Promise<UnaryResponse>;
type AnyFn = Parameters<Interceptor>[0];

/**
 * Connect's runUnaryCall, minus what costs in a wide fan-out: the same interceptor order,
 * request normalisation, deadline (DeadlineExceeded "the operation timed out") and
 * cancellation (the caller's reason) on `req.signal`, and the same error conversion; but no
 * linked-controller abort (and its DOMException, stack trace included) after a success: the
 * exchange has already let go of the signal.
 */
async function runUnary(
  chain: UnaryNext,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  req: Omit<UnaryRequest, "signal">,
): Promise<UnaryResponse> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal!.reason);
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort);
  if (timeoutMs !== undefined && !controller.signal.aborted) {
    timer = setTimeout(() => {
      controller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    }, timeoutMs);
  }
  try {
    return await chain({
      ...req,
      message: create(req.method.input, req.message),
      signal: controller.signal,
    });
  } catch (reason) {
    const e = controller.signal.aborted
      ? ConnectError.from(controller.signal.reason, Code.Canceled)
      : ConnectError.from(reason);
    controller.abort(e);
    throw e;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/** A Connect-protocol Transport with light unary calls (see the module comment). */
export function createLightTransport(o: LightTransportOptions): Transport {
  const authority = new URL(o.baseUrl).origin;
  interface PerMethod {
    url: string;
    chain: UnaryNext;
  }
  // Per method: serializers (with the size limits), URL and interceptor chain, built once.
  const perMethod = new Map<DescMethodUnary, PerMethod>();
  const lookup = (method: DescMethodUnary): PerMethod => {
    let m = perMethod.get(method);
    if (m) return m;
    const url = createMethodUrl(o.baseUrl, method);
    const path = new URL(url).pathname;
    const ser = createMethodSerializationLookup(method, undefined, undefined, {
      readMaxBytes: o.readMaxBytes,
      writeMaxBytes: o.writeMaxBytes,
    });
    const next: UnaryNext = async (req) => {
      if (req.url !== url && new URL(req.url).origin !== authority) {
        throw new ConnectError(
          `cannot make a request to ${
            new URL(req.url).origin
          }: the http2 session is connected to ${authority}`,
          Code.Internal,
        );
      }
      const body = ser.getI(true).serialize(req.message);
      // Never compressed (no send compression, as connect-node's default).
      req.header.delete(headerUnaryEncoding);
      const reqPath = req.url === url ? path : new URL(req.url).pathname;
      const res = await exchange(
        o.sessionManager,
        reqPath,
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
        message: ser.getO(true).parse(bytes),
        trailer,
      };
    };
    // Connect's order: the first interceptor is the outermost.
    // (An interceptor takes and gives Connect's AnyFn; unary requests are all it gets here.)
    const chain = o.interceptors.reduceRight<UnaryNext>(
      (n, i) => i(n as AnyFn) as UnaryNext,
      next,
    );
    m = { url, chain };
    perMethod.set(method, m);
    return m;
  };
  return {
    async unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      message: MessageInitShape<I>,
      contextValues?: ContextValues,
    ): Promise<UnaryResponse<I, O>> {
      const m = lookup(method as unknown as DescMethodUnary);
      const timeout = timeoutMs === undefined || timeoutMs <= 0 ? undefined : timeoutMs;
      const res = await runUnary(m.chain, signal, timeout, {
        stream: false,
        service: method.parent,
        method: method as unknown as DescMethodUnary,
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
        message: message as MessageShape<DescMessage>,
      });
      return res as unknown as UnaryResponse<I, O>;
    },
    stream: (...args) => o.streaming.stream(...args),
  };
}
