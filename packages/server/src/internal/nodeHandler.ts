/**
 * The hot route on plain `node:http`: `POST /v1/chat/completions` (and `/chat/completions`)
 * runs the same route handler as through effect/http (OpenAIRoutes: auth, body, validation,
 * the manager, the error table), but the request reaches it without effect/http's per-request
 * machinery (request wrapper, router match, middleware frame, a cached body effect run through
 * `runSync`, response writer effects): one fiber per request, the body read in one callback,
 * the answer written straight to the `ServerResponse`. Every other request, and this one when
 * CORS or tracing is on (their middleware belongs to effect/http), goes to effect/http as before.
 * Figures: notes/benchmarks.md "HTTP layer".
 *
 * What the node writer keeps from `@effect/platform-node`'s (NodeHttpServer): content headers
 * from the response body, `connection: close` when more than 256 KB of an unread body would
 * have to be drained, the unread rest drained (or the socket closed) once the answer is sent,
 * streams written with back-pressure, a started stream that fails destroyed rather than ended
 * (a partial body must not look complete), and the fiber interrupted when the client leaves.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { NodeStream } from "@effect/platform-node"
import { Cause, type Context, Effect, Fiber, Latch, type Scope, Stream } from "effect"
import { Cookies, HttpIncomingMessage, HttpServerRequest, type HttpServerResponse } from "effect/http"
import { HttpServerError, RequestParseError } from "effect/http/HttpServerError"

/** Node's `request` listener for the hot routes: `true` when it took the request. */
export type FastHandler = (req: IncomingMessage, res: ServerResponse) => boolean

/** Where `GatewayServer` finds the fast handler once the routes are built (none until then). */
export interface FastSlot {
  handler: FastHandler | undefined
}

const MAX_DRAIN_BYTES = 256 * 1024
const CLOSE_GRACE_MS = 500
const textDecoder = new TextDecoder()

/**
 * The request as the chat route sees it: method, url, headers and the body as text (bounded by
 * `HttpIncomingMessage.MaxBodySize`, failing like effect/http's reader). The route reads
 * nothing else; the other members of `HttpServerRequest` are absent.
 */
class FastRequest {
  bytesRead = 0
  readonly source: IncomingMessage
  readonly url: string
  constructor(source: IncomingMessage, url: string) {
    this.source = source
    this.url = url
  }
  get method(): string {
    return "POST"
  }
  get headers() {
    return this.source.headers as Record<string, string | undefined>
  }
  get originalUrl(): string {
    return this.url
  }
  get text(): Effect.Effect<string, HttpServerError> {
    return Effect.withFiber((fiber) => {
      const max = fiber.getRef(HttpIncomingMessage.MaxBodySize)
      return Effect.callback<string, HttpServerError>((resume) => readBody(this, max === undefined ? undefined : Number(max), resume))
    })
  }
  toString() {
    return `ServerRequest(POST ${this.url})`
  }
}

const ignore = () => {}

/**
 * The body as text, with four plain listeners (`NodeStream.toArrayBuffer` watches the stream
 * with `finished`: a dozen listeners and closures per request, and a copy of the bytes). Failures
 * as effect/http's reader: over `maxBytes` a BodyTooLarge (the rest drained, not destroyed), an
 * error or a close before the end a Parse; interrupted, the request is destroyed.
 */
const readBody = (
  request: FastRequest,
  maxBytes: number | undefined,
  resume: (effect: Effect.Effect<string, HttpServerError>) => void
): Effect.Effect<void> => {
  const source = request.source
  const chunks: Array<Buffer> = []
  let bytes = 0
  const cleanup = () => {
    source.off("data", onData)
    source.off("end", onEnd)
    source.off("error", onError)
    source.off("close", onClose)
    // an error after we stopped listening must not go unhandled
    source.on("error", ignore)
  }
  const fail = (reason: "BodyTooLarge" | "Parse", cause: unknown) =>
    resume(Effect.fail(
      new HttpServerError({
        reason: new RequestParseError({ request: request as unknown as HttpServerRequest.HttpServerRequest, reason, cause })
      })
    ))
  function onData(chunk: Buffer) {
    bytes += chunk.length
    if (maxBytes !== undefined && bytes > maxBytes) {
      cleanup()
      source.resume()
      return fail("BodyTooLarge", new NodeStream.MaxBytesError(maxBytes))
    }
    chunks.push(chunk)
  }
  function onEnd() {
    cleanup()
    request.bytesRead = bytes
    resume(Effect.succeed(textDecoder.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, bytes))))
  }
  function onError(cause: unknown) {
    cleanup()
    fail("Parse", cause)
  }
  function onClose() {
    cleanup()
    fail("Parse", new Error("the request closed before its body ended"))
  }
  if (source.destroyed) {
    fail("Parse", new Error("the request closed before its body was read"))
    return Effect.void
  }
  source.on("data", onData)
  source.on("end", onEnd)
  source.on("error", onError)
  source.on("close", onClose)
  return Effect.sync(() => {
    cleanup()
    source.destroy()
  })
}

const closeSocket = (socket: IncomingMessage["socket"]) => {
  if (socket.destroyed) return
  socket.end()
  const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS)
  socket.once("close", () => clearTimeout(timer))
}

/** An answer sent before the body was read: drain a little of the rest, else close. */
const teardownBody = (req: IncomingMessage, res: ServerResponse) => {
  if (req.complete || req.destroyed) return
  const socket = req.socket
  const internal = res as unknown as { _last: boolean }
  const request = req as unknown as { _consuming: boolean }
  if (internal._last) {
    request._consuming = true
    internal._last = false
    return closeSocket(socket)
  }
  let bytes = 0
  req.on("data", (chunk: Buffer) => {
    bytes += chunk.length
    if (bytes > MAX_DRAIN_BYTES) {
      req.pause()
      closeSocket(socket)
    }
  })
  req.resume()
}

const closesConnection = (request: FastRequest, streaming: boolean): boolean => {
  const req = request.source
  if (req.complete) return false
  const declared = req.headers["content-length"]
  return !streaming && declared !== undefined && Number(declared) - request.bytesRead > MAX_DRAIN_BYTES
}

const writeHead = (request: FastRequest, res: ServerResponse, response: HttpServerResponse.HttpServerResponse, streaming = false) => {
  let headers: Record<string, string | Array<string>> = response.headers
  if (!Cookies.isEmpty(response.cookies)) {
    const set = Cookies.toSetCookieHeaders(response.cookies)
    headers = { ...headers, "set-cookie": set }
  }
  if (closesConnection(request, streaming)) headers = { ...headers, connection: "close" }
  if (response.statusText === undefined) res.writeHead(response.status, headers)
  else res.writeHead(response.status, response.statusText, headers)
}

/** A failure while writing: end a response not yet started, destroy one that has. */
const abort = (res: ServerResponse, cause: Cause.Cause<unknown>): Effect.Effect<void, never> => {
  if (!res.headersSent) {
    res.writeHead(500)
    res.end()
  } else if (!res.writableEnded) res.destroy()
  return Cause.hasInterruptsOnly(cause) ? Effect.failCause(cause as Cause.Cause<never>) : Effect.void
}

const writeResponse = (
  request: FastRequest,
  res: ServerResponse,
  response: HttpServerResponse.HttpServerResponse
): Effect.Effect<void> => {
  if (res.writableEnded || res.destroyed) return Effect.void
  res.strictContentLength = true
  const body = response.body
  switch (body._tag) {
    case "Empty":
      writeHead(request, res, response)
      res.end()
      return Effect.void
    case "Uint8Array":
      writeHead(request, res, response)
      res.end(body.text ?? body.body)
      return Effect.void
    case "Stream": {
      writeHead(request, res, response, true)
      const drained = Latch.makeUnsafe()
      res.on("drain", () => drained.openUnsafe())
      return body.stream.pipe(
        Stream.orDie,
        Stream.runForEachArray((array) => {
          const chunk = array.length > 1 ? Buffer.concat(array) : array[0]
          if (res.write(chunk)) return Effect.void
          drained.closeUnsafe()
          return drained.await
        }),
        Effect.interruptible,
        Effect.matchCauseEffect({
          onSuccess: () => Effect.sync(() => void res.end()),
          onFailure: (cause) => abort(res, cause)
        })
      )
    }
    default:
      // the chat route answers text or a stream; anything else is a bug, not a client's doing
      return abort(res, Cause.die(new Error(`unexpected response body ${body._tag} on the fast path`)))
  }
}

/**
 * The fast handler for `paths` (exact request targets), running `handler` — the route's own
 * handler effect, which reads the request from context — with `services` (the server's context,
 * so loggers, the tracer switch and the drain are the same), each fiber in `scope` (closed when
 * the server stops, after the shutdown grace).
 */
export const makeFastHandler = (options: {
  readonly paths: ReadonlyArray<string>
  readonly handler: Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest | Scope.Scope>
  readonly services: Context.Context<never>
  readonly scope: Scope.Scope
}): FastHandler => {
  const paths = new Set(options.paths)
  const { handler, services, scope } = options
  return (req, res) => {
    const url = req.url
    if (req.method !== "POST" || url === undefined || !paths.has(url) || req.httpVersionMajor !== 1) return false
    const request = new FastRequest(req, url)
    res.prependListener("finish", () => teardownBody(req, res))
    const run = Effect.scoped(
      Effect.flatMap(
        Effect.provideService(handler, HttpServerRequest.HttpServerRequest, request as unknown as HttpServerRequest.HttpServerRequest),
        (response) => writeResponse(request, res, response)
      )
    )
    const fiber = Fiber.runIn(Effect.runForkWith(services)(run), scope)
    if (fiber.pollUnsafe() === undefined) {
      res.on("close", () => {
        if (!res.writableEnded) fiber.interruptUnsafe()
      })
    }
    return true
  }
}
