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
 * interrupted, failure), which closes its socket. A stream that reached `[DONE]` or its end is
 * not aborted, so its connection goes back to the pool. Both go through undici's `dispatch` with
 * handlers of our own (collect.ts, streamHandler.ts), not `pool.request`.
 */
import type { ProviderRequest, ProviderResponse, StreamChunk } from "@llm-gateway/core/domain/Domain"
import { type LLMError, TimeoutError } from "@llm-gateway/core/domain/LLMError"
import { traceparentOf } from "@llm-gateway/core/metrics/GenAiSpans"
import { Effect, Stream } from "effect"
import type { IncomingHttpHeaders } from "node:http"
import { errors, type Pool } from "undici"
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
import { type SseReader, streamSse } from "./streamHandler.ts"
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

const textDecoder = new TextDecoder()
const { RequestAbortedError } = errors

/**
 * A request's dispatch options, with undici's own header and body timers off when the request
 * keeps bounds of its own at least as tight as the pool's (the client's `timeoutMs`,
 * transport.ts): undici's can then never fire first, and each left a timer object in undici's
 * list for up to a second after it was cleared, long enough to be promoted to V8's old generation
 * (notes/benchmarks.md, tenth session). A request without such bounds keeps them.
 */
const dispatchOptions = (path: string, headers: Readonly<Record<string, string>>, body: string, selfTimed: boolean) =>
  selfTimed
    ? { method: "POST" as const, path, headers, body, headersTimeout: 0, bodyTimeout: 0 }
    : { method: "POST" as const, path, headers, body }

export const makeDirectChat = (options: DirectChatOptions): DirectChat => {
  const { headers, maxField, path, pool, scope } = options

  /** The answer of a collected call: the response on 2xx, else the error the table makes of it. */
  const answerOf = (req: ProviderRequest, result: Collected): ProviderResponse | LLMError => {
    if (result._tag === "Failed") {
      // no status yet: the connection failed; a 2xx in: the body did (as `body.json()` would); an
      // error status in: its body could not be read, and the status still decides (as the SDK does)
      const status = result.status
      if (status === undefined) return connectionFailure(result.error, req, scope)
      if (status >= 200 && status < 300) return bodyFailure(result.error, req, scope)
      return fromErrorBody(status, headerView(result.headers ?? {}), "", req, scope)
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
          dispatchOptions(path, tp === undefined ? headers : { ...headers, traceparent: tp }, body, timeoutMs !== undefined && timeoutMs <= scope.timeoutMs),
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

  /** What the chat stream's events become: OpenAI's chunks through the SDK path's mapper, `[DONE]` its end. */
  const chatEvents = (req: ProviderRequest): SseReader<StreamChunk, LLMError> => {
    const mapper = new ChunkMapper(req, scope.prefix + req.model)
    return {
      event: (event, data, out) => {
        if (data === "[DONE]") return true
        const chunk: unknown = JSON.parse(data)
        const error = streamEventError(event, chunk)
        if (error) throw fromStreamEvent(error, req, scope)
        const mapped = mapper.map(chunk as ChatChunk)
        if (mapped !== undefined) out.push(mapped)
        return false
      },
      end: (out) => {
        const last = mapper.end()
        if ("_tag" in last) return last
        out.push(last)
        return undefined
      },
      connectionFailure: (error) => connectionFailure(error, req, scope),
      bodyFailure: (error) => bodyFailure(error, req, scope),
      errorAnswer: (status, answerHeaders, text) => fromErrorBody(status, headerView(answerHeaders), text, req, scope),
      // the router's bounds (`req.timeoutMs` to the first chunk, `req.stallTimeoutMs` after it),
      // with the errors its own races made
      timedOut: (ms, stalled) =>
        new TimeoutError({ model: scope.prefix + req.model, timeoutMs: ms, message: stalled ? `stream stalled for ${ms} ms` : `no answer within ${ms} ms` })
    }
  }

  /**
   * One request, one handler (streamHandler.ts) that is the stream's pull and, when the stream's
   * scope closes before the answer is complete, aborts the request; it also keeps the router's
   * time bounds (`timeoutMs`, `stallTimeoutMs`) with one timer.
   */
  const stream = (req: ProviderRequest): Stream.Stream<StreamChunk, LLMError> =>
    Stream.unwrap(Effect.map(
      Effect.acquireRelease(
        Effect.withFiber((fiber) => {
          let body: string
          try {
            body = JSON.stringify(chatStreamParams(req, maxField))
          } catch (error) {
            return Effect.fail(bodyFailure(error, req, scope))
          }
          const tp = traceparentOf(fiber)
          // the gateway's upstream span, when tracing is on (W3C trace context)
          const sent = tp === undefined ? headers : { ...headers, traceparent: tp }
          const timing = req.timeoutMs === undefined && req.stallTimeoutMs === undefined
            ? undefined
            : { firstMs: req.timeoutMs, stallMs: req.stallTimeoutMs }
          const selfTimed = timing?.firstMs !== undefined && timing.stallMs !== undefined &&
            timing.firstMs <= scope.timeoutMs && timing.stallMs <= scope.timeoutMs
          return Effect.succeed(streamSse(pool, dispatchOptions(path, sent, body, selfTimed), chatEvents(req), timing))
        }),
        (handler) => Effect.sync(() => handler.close())
      ),
      (handler) => Stream.fromPull(Effect.succeed(handler.pull))
    ))

  return { generate, stream }
}
