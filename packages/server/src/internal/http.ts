/**
 * Response builders and the request-body reader shared by every route.
 */
import { Effect } from "effect"
import { HttpIncomingMessage, type HttpServerRequest, HttpServerResponse } from "effect/http"
import * as ByteSize from "effect/ByteSize"
import { findTooDeep, tooDeepError } from "@llm-gateway/core/domain/JsonDepth"
import { type ApiError, envelope, invalidJson, invalidRequest, payloadTooLarge } from "../HttpError.ts"
import type { Scrubber } from "./secrets.ts"

export const JSON_TYPE = "application/json"

export const jsonText = (body: string, status = 200, headers?: Record<string, string>) =>
  HttpServerResponse.text(body, { status, contentType: JSON_TYPE, headers })

export const errorResponse = (e: ApiError, scrubber: Scrubber): HttpServerResponse.HttpServerResponse => {
  const body = JSON.stringify(envelope(e))
  const headers: Record<string, string> = { ...e.headers }
  if (e.retryAfterSeconds !== undefined) headers["retry-after"] = String(e.retryAfterSeconds)
  if (e.shouldRetry === false) headers["x-should-retry"] = "false"
  if (e.status === 401) headers["www-authenticate"] = "Bearer"
  return HttpServerResponse.text(scrubber.scrub(body), { status: e.status, contentType: JSON_TYPE, headers })
}

const parseJson = (text: string): Effect.Effect<unknown, ApiError> => {
  if (text.length === 0) return Effect.fail(invalidJson("the body is empty"))
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (e) {
    return Effect.fail(invalidJson(e instanceof SyntaxError ? e.message : "unparseable"))
  }
  // Every route reads its body here, so one bound covers every recursion over caller JSON
  // downstream (cache key, SDK serialisation, grammar building): too deep is a 400, never a 500.
  const deep = findTooDeep(body)
  if (deep !== undefined) {
    const { param, message } = tooDeepError(deep)
    return Effect.fail(invalidRequest(message, param))
  }
  return Effect.succeed(body)
}

/**
 * A reader of JSON bodies of at most `maxBytes`: a declared length over the limit is refused
 * before a byte is read; an undeclared (chunked) one is cut off at the limit.
 */
export const makeJsonReader = (maxBytes: number) => {
  const size = ByteSize.bytes(maxBytes)
  const tooLarge = payloadTooLarge(maxBytes)
  const unreadable = invalidJson("the body could not be read")
  return (request: HttpServerRequest.HttpServerRequest): Effect.Effect<unknown, ApiError> => {
    const declared = request.headers["content-length"]
    if (declared !== undefined && Number(declared) > maxBytes) return Effect.fail(tooLarge)
    return request.text.pipe(
      Effect.provideService(HttpIncomingMessage.MaxBodySize, size),
      Effect.mapError((e) =>
        e.reason._tag === "RequestParseError" && e.reason.reason === "BodyTooLarge" ? tooLarge : unreadable
      ),
      Effect.flatMap(parseJson)
    )
  }
}
