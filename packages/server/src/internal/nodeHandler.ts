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
import * as NodeStream from "@effect/platform-node/NodeStream"
import { Cause, type Context, Effect, Latch, type Scope, Stream } from "effect"
import { Cookies, HttpIncomingMessage, HttpServerRequest, type HttpServerResponse } from "effect/http"
import { HttpServerError, RequestParseError } from "effect/http/HttpServerError"
import { makeInFlight } from "./inFlight.ts"

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
 * The request as the chat route sees it: method, url, headers and the body as text, already read
 * (bounded by the server's body limit, failing like effect/http's reader). The route reads
 * nothing else; the other members of `HttpServerRequest` are absent.
 */
class FastRequest {
  bytesRead = 0
  /** The body's text, or why it could not be read; set before the route runs. */
  body: Effect.Effect<string, HttpServerError> = Effect.succeed("")
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
    return this.body
  }
  toString() {
    return `ServerRequest(POST ${this.url})`
  }
}

const ignore = () => {}

/** The body's failure as effect/http's reader reports it. */
const unreadable = (request: FastRequest, reason: "BodyTooLarge" | "Parse", cause: unknown): Effect.Effect<never, HttpServerError> =>
  Effect.fail(
    new HttpServerError({
      reason: new RequestParseError({ request: request as unknown as HttpServerRequest.HttpServerRequest, reason, cause })
    })
  )

/**
 * Reads the body as text with four plain listeners (`NodeStream.toArrayBuffer` watches the stream
 * with `finished`: a dozen listeners and closures per request, and a copy of the bytes), before
 * the route's fiber starts, so the fiber suspends once per request (for the upstream), not twice.
 * Failures as effect/http's reader: over `maxBytes` a BodyTooLarge (the rest drained, not
 * destroyed), an error before the end a Parse. A request closed before its body ended is never
 * answered (`done` is not called): its client is gone.
 */
const readBody = (request: FastRequest, maxBytes: number, done: () => void): void => {
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
  const fail = (reason: "BodyTooLarge" | "Parse", cause: unknown) => {
    request.body = unreadable(request, reason, cause)
    done()
  }
  function onData(chunk: Buffer) {
    bytes += chunk.length
    if (bytes > maxBytes) {
      cleanup()
      source.resume()
      return fail("BodyTooLarge", new NodeStream.MaxBytesError(maxBytes))
    }
    chunks.push(chunk)
  }
  function onEnd() {
    cleanup()
    request.bytesRead = bytes
    request.body = Effect.succeed(textDecoder.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, bytes)))
    done()
  }
  function onError(cause: unknown) {
    cleanup()
    fail("Parse", cause)
  }
  function onClose() {
    cleanup()
  }
  if (source.destroyed) return
  source.on("data", onData)
  source.on("end", onEnd)
  source.on("error", onError)
  source.on("close", onClose)
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
 * the server stops, after the shutdown grace). The body is read first (at most `maxBodyBytes`,
 * the route's own limit); a declared length over it starts the route at once, which refuses it
 * without reading a byte (the rest is drained or the connection closed once answered).
 */
export const makeFastHandler = (options: {
  readonly paths: ReadonlyArray<string>
  readonly handler: Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest | Scope.Scope>
  readonly services: Context.Context<never>
  readonly scope: Scope.Scope
  readonly maxBodyBytes: number
}): FastHandler => {
  const paths = new Set(options.paths)
  const { handler, services, maxBodyBytes } = options
  const inFlight = makeInFlight(options.scope)
  const run = (req: IncomingMessage, res: ServerResponse, request: FastRequest) => {
    const effect = Effect.scoped(
      Effect.flatMap(
        Effect.provideService(handler, HttpServerRequest.HttpServerRequest, request as unknown as HttpServerRequest.HttpServerRequest),
        (response) => writeResponse(request, res, response)
      )
    )
    const fiber = Effect.runForkWith(services)(effect)
    inFlight.add(fiber)
    if (fiber.pollUnsafe() === undefined) {
      res.on("close", () => {
        if (!res.writableEnded) fiber.interruptUnsafe()
      })
    }
  }
  return (req, res) => {
    const url = req.url
    if (req.method !== "POST" || url === undefined || !paths.has(url) || req.httpVersionMajor !== 1) return false
    const request = new FastRequest(req, url)
    const declared = req.headers["content-length"]
    if (declared !== undefined && Number(declared) > maxBodyBytes) {
      // answered before its body is read: drain a little of the rest, else close
      res.prependListener("finish", () => teardownBody(req, res))
      request.body = unreadable(request, "BodyTooLarge", new NodeStream.MaxBytesError(maxBodyBytes))
      run(req, res, request)
      return true
    }
    readBody(request, maxBodyBytes, () => {
      // a body cut off at the limit is answered before its end
      if (!req.complete) res.prependListener("finish", () => teardownBody(req, res))
      run(req, res, request)
    })
    return true
  }
}
