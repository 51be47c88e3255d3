/**
 * The direct transport for chat generate and stream: OpenAI's wire format straight over the
 * client's undici `Pool`, without the SDK's per-request machinery (header merging, URL building,
 * fetch's WHATWG streams), which caps a loopback upstream at ~1/3 of what the Pool can carry
 * (figures in notes/transport.md).
 *
 * It is the SDK path minus the SDK, not a second implementation: the request body comes from the
 * same builders (wire.ts), the URL from the SDK's own `buildURL`, the headers are the SDK's
 * (bearer key, configured headers over them, JSON content type); responses and stream chunks go
 * through the same mappers (`toResponse`, `ChunkMapper`: usage, finish reason, truncation), and
 * failures through the same error table (errors.ts) — the test suites run against both paths.
 *
 * Cancellation: interrupting `generate` aborts its request (its own controller); a
 * stream's request is aborted when the stream's scope closes early (consumer stopped, fiber
 * interrupted, failure), which destroys the body and the socket. A stream that reached `[DONE]`
 * or its end is not aborted, so its connection goes back to the pool.
 */
import type { ProviderRequest, ProviderResponse, StreamChunk } from "@llm-gateway/core/domain/Domain"
import { type LLMError, TimeoutError } from "@llm-gateway/core/domain/LLMError"
import { traceparentOf } from "@llm-gateway/core/metrics/GenAiSpans"
import { Cause, Effect, Stream } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { IncomingHttpHeaders } from "node:http"
import { type Dispatcher, errors, type Pool } from "undici"
import { type Collected, collect } from "./collect.ts"
import {
  bodyFailure,
  connectionFailure,
  type ErrorScope,
  fromErrorBody,
  fromStreamEvent,
  type HeaderSource,
  streamEventError
} from "./errors.ts"
import { SseSplitter } from "./sse.ts"
import { type ChatChunk, type ChatCompletion, chatParams, chatStreamParams, ChunkMapper, type MaxTokensField, toResponse } from "./wire.ts"

export interface DirectChatOptions {
  readonly pool: Pool
  /** Path and query of the chat endpoint on the pool's origin, as the SDK builds it. */
  readonly path: string
  /** Built once per client (see `directHeaders`). */
  readonly headers: Readonly<Record<string, string>>
  readonly maxField: MaxTokensField
  readonly scope: ErrorScope
}

export interface DirectChat {
  readonly generate: (req: ProviderRequest) => Effect.Effect<ProviderResponse, LLMError>
  readonly stream: (req: ProviderRequest) => Stream.Stream<StreamChunk, LLMError>
}

type Body = Dispatcher.ResponseData["body"]

/**
 * The headers the SDK sends, in its precedence: its own, then the bearer key, then configured
 * headers (which may replace either), then the body's content type. Names are lower-cased so a
 * configured `Authorization` replaces the key instead of doubling it.
 */
export const directHeaders = (apiKey: string, configured: Readonly<Record<string, string>> | undefined) => {
  const headers: Record<string, string> = {
    accept: "application/json",
    "user-agent": "llm-gateway (openai direct)",
    authorization: `Bearer ${apiKey}`
  }
  if (configured !== undefined) for (const [name, value] of Object.entries(configured)) headers[name.toLowerCase()] = value
  headers["content-type"] = "application/json"
  return headers
}

/** undici's plain header object as the table reads headers (error path only). */
const headerView = (headers: IncomingHttpHeaders): HeaderSource => ({
  get: (name) => {
    const value = headers[name]
    return Array.isArray(value) ? value[0] : value
  }
})

const orFail = <A extends object>(result: A | LLMError): Effect.Effect<A, LLMError> =>
  "_tag" in result ? Effect.fail(result as LLMError) : Effect.succeed(result as A)

const textDecoder = new TextDecoder()
const { RequestAbortedError } = errors

/** Backpressure: past this many undelivered chunks the body is paused (and undici pauses the socket). */
const HIGH_WATER = 256

export const makeDirectChat = (options: DirectChatOptions): DirectChat => {
  const { headers, maxField, path, pool, scope } = options

  /** POSTs a body; the response body on 2xx, else the error the table makes of the answer. */
  const post = async (req: ProviderRequest, body: string, signal: AbortSignal, traceparent: string | undefined): Promise<Body | LLMError> => {
    let res: Dispatcher.ResponseData
    try {
      // the gateway's upstream span, when tracing is on (W3C trace context)
      const sent = traceparent === undefined ? headers : { ...headers, traceparent }
      res = await pool.request({ method: "POST", path, headers: sent, body, signal })
    } catch (error) {
      return connectionFailure(error, req, scope)
    }
    const status = res.statusCode
    if (status >= 200 && status < 300) return res.body
    // As the SDK: a body that cannot be read still leaves the status to decide.
    const text = await res.body.text().catch(() => "")
    return fromErrorBody(status, headerView(res.headers), text, req, scope)
  }

  /** The answer of a collected call: the response on 2xx, else the error the table makes of it. */
  const answerOf = (req: ProviderRequest, result: Collected): ProviderResponse | LLMError => {
    if (result._tag === "Failed") {
      // no status yet: the connection failed; a status in: the body did (as `body.json()` would)
      return result.status === undefined ? connectionFailure(result.error, req, scope) : bodyFailure(result.error, req, scope)
    }
    const status = result.status
    if (status >= 200 && status < 300) {
      try {
        return toResponse(JSON.parse(textDecoder.decode(result.body)) as ChatCompletion, req, scope.prefix + req.model)
      } catch (error) {
        return bodyFailure(error, req, scope)
      }
    }
    return fromErrorBody(status, headerView(result.headers), textDecoder.decode(result.body), req, scope)
  }

  /**
   * One request, one handler (collect.ts) that is also its abort handle: aborted when the fiber
   * is interrupted, and with `req.timeoutMs` (the router's attempt budget) by one timer, so the
   * request carries its own deadline instead of the router's race of two fibers. Running out is
   * a TimeoutError, whatever the aborted request failed with.
   */
  const generate = (req: ProviderRequest): Effect.Effect<ProviderResponse, LLMError> =>
    Effect.withFiber((fiber) => {
      const tp = traceparentOf(fiber)
      return Effect.callback<ProviderResponse, LLMError>((resume) => {
        const timeoutMs = req.timeoutMs
        let timedOut = false
        let timer: ReturnType<typeof setTimeout> | undefined
        let body: string
        try {
          body = JSON.stringify(chatParams(req, maxField))
        } catch (error) {
          resume(Effect.fail(bodyFailure(error, req, scope)))
          return
        }
        let settled = false
        const handle = collect(
          pool,
          // the gateway's upstream span, when tracing is on (W3C trace context)
          { method: "POST", path, headers: tp === undefined ? headers : { ...headers, traceparent: tp }, body },
          (result) => {
            settled = true
            if (timer !== undefined) clearTimeout(timer)
            if (timedOut) {
              return resume(Effect.fail(new TimeoutError({ model: scope.prefix + req.model, timeoutMs: timeoutMs!, message: `no answer within ${timeoutMs} ms` })))
            }
            const answer = answerOf(req, result)
            resume("_tag" in answer ? Effect.fail(answer as LLMError) : Effect.succeed(answer))
          }
        )
        if (timeoutMs !== undefined && !settled) {
          timer = setTimeout(() => {
            timedOut = true
            handle.abort(new RequestAbortedError(`no answer within ${timeoutMs} ms`))
          }, timeoutMs)
        }
        // interrupted: the request is aborted (and its late answer, if any, goes nowhere)
        return Effect.sync(() => {
          if (timer !== undefined) clearTimeout(timer)
          handle.abort(new RequestAbortedError("the caller went away"))
        })
      })
    })

  const stream = (req: ProviderRequest): Stream.Stream<StreamChunk, LLMError> =>
    Stream.unwrap(Effect.flatMap(
      Effect.acquireRelease(
        Effect.sync(() => ({ controller: new AbortController(), finished: false })),
        (handle) => Effect.sync(() => handle.finished || handle.controller.abort())
      ),
      (handle) =>
        Effect.map(
          Effect.flatMap(
            Effect.withFiber((fiber) =>
              Effect.tryPromise({
                try: () => post(req, JSON.stringify(chatStreamParams(req, maxField)), handle.controller.signal, traceparentOf(fiber)),
                catch: (error) => bodyFailure(error, req, scope)
              })
            ),
            orFail
          ),
          (body) => Stream.fromPull(Effect.succeed(readEvents(body, req, handle)))
        )
    ))

  /**
   * The body as a pull of chunk batches: every network chunk is parsed as it arrives (flowing
   * mode, so bytes that arrived before a connection drop are delivered before the error), and a
   * pull takes everything parsed so far.
   */
  const readEvents = (body: Body, req: ProviderRequest, handle: { finished: boolean }) => {
    const mapper = new ChunkMapper(req, scope.prefix + req.model)
    const splitter = new SseSplitter()
    let out: Array<StreamChunk> = []
    let failure: LLMError | undefined
    let finished = false
    let paused = false
    let waiting: ((effect: Effect.Effect<NonEmptyReadonlyArray<StreamChunk>, LLMError | Cause.Done>) => void) | undefined

    const finish = () => {
      finished = true
      handle.finished = true
      const last = mapper.end()
      if ("_tag" in last) failure = last
      else out.push(last)
    }
    const onEvent = (event: string | undefined, data: string) => {
      if (finished) return
      if (data === "[DONE]") return finish()
      const chunk: unknown = JSON.parse(data)
      const error = streamEventError(event, chunk)
      if (error) throw fromStreamEvent(error, req, scope)
      const mapped = mapper.map(chunk as ChatChunk)
      if (mapped !== undefined) out.push(mapped)
    }
    const deliver = () => {
      const resume = waiting
      if (resume === undefined) return
      if (out.length > 0) {
        waiting = undefined
        const batch = out
        out = []
        if (paused) {
          paused = false
          body.resume()
        }
        resume(Effect.succeed(batch as unknown as NonEmptyReadonlyArray<StreamChunk>))
      } else if (failure !== undefined) {
        waiting = undefined
        resume(Effect.fail(failure))
      } else if (finished) {
        waiting = undefined
        resume(Cause.done())
      }
    }

    body.setEncoding("utf8")
    body.on("data", (text: string) => {
      if (finished || failure !== undefined) return
      try {
        splitter.push(text, onEvent)
      } catch (error) {
        failure = bodyFailure(error, req, scope)
      }
      if (out.length >= HIGH_WATER && !paused) {
        paused = true
        body.pause()
      }
      deliver()
    })
    body.on("end", () => {
      if (!finished && failure === undefined) finish()
      deliver()
    })
    // Always listened to: undici destroys the body with an error on abort and on a lost socket.
    body.on("error", (error) => {
      if (!finished && failure === undefined) failure = bodyFailure(error, req, scope)
      deliver()
    })

    const forget = Effect.sync(() => {
      waiting = undefined
    })
    return Effect.callback<NonEmptyReadonlyArray<StreamChunk>, LLMError | Cause.Done>((resume) => {
      waiting = resume
      deliver()
      return forget
    })
  }

  return { generate, stream }
}
