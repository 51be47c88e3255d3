/**
 * Response builders and the request-body reader shared by every route.
 */
import { Effect } from "effect"
import { HttpIncomingMessage, type HttpServerRequest, HttpServerResponse } from "effect/http"
import * as ByteSize from "effect/ByteSize"
import { type ApiError, envelope, invalidJson, payloadTooLarge } from "../HttpError.ts"
import type { Scrubber } from "./secrets.ts"

export const JSON_TYPE = "application/json"

export const jsonText = (body: string, status = 200, headers?: Record<string, string>) =>
  HttpServerResponse.text(body, { status, contentType: JSON_TYPE, headers })

export const errorResponse = (e: ApiError, scrubber: Scrubber): HttpServerResponse.HttpServerResponse => {
  const body = JSON.stringify(envelope(e))
  const headers: Record<string, string> = {}
  if (e.retryAfterSeconds !== undefined) headers["retry-after"] = String(e.retryAfterSeconds)
  if (e.shouldRetry === false) headers["x-should-retry"] = "false"
  if (e.status === 401) headers["www-authenticate"] = "Bearer"
  return HttpServerResponse.text(scrubber.scrub(body), { status: e.status, contentType: JSON_TYPE, headers })
}

const parseJson = (text: string): Effect.Effect<unknown, ApiError> => {
  if (text.length === 0) return Effect.fail(invalidJson("the body is empty"))
  try {
    return Effect.succeed(JSON.parse(text) as unknown)
  } catch (e) {
    return Effect.fail(invalidJson(e instanceof SyntaxError ? e.message : "unparseable"))
  }
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
