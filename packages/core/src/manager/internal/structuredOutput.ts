/**
 * `generateObject`: ask for JSON matching a Schema (the provider's JSON-schema mode where it has
 * one), decode the answer with the Schema, and build the one repair request.
 */
import { Effect, Result, Schema } from "effect"
import type { LLMRequest, LLMResponse } from "../../domain/Domain.ts"
import type { LLMError } from "../../domain/LLMError.ts"
import type { CallContext } from "../CallContext.ts"
import { requestMessages } from "../../domain/Domain.ts"

export class StructuredOutputError extends Schema.TaggedError<StructuredOutputError>()("StructuredOutputError", {
  message: Schema.String,
  /** What the model answered (after the repair attempt). */
  content: Schema.String
}) {}

const jsonSchemaOf = (schema: Schema.Top): Record<string, unknown> => {
  const doc = Schema.toJsonSchemaDocument(schema)
  const definitions = doc.definitions ?? {}
  return Object.keys(definitions).length > 0 ? { ...doc.schema, $defs: definitions } : { ...doc.schema }
}

export const objectRequest = (req: LLMRequest, schema: Schema.Top): LLMRequest => ({
  ...req,
  responseFormat: { type: "json_schema", name: "response", schema: jsonSchemaOf(schema) }
})

/** Models often wrap JSON in a markdown fence or add a sentence around it: take the JSON part. */
export const extractJson = (content: string): string => {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(content)
  const text = (fenced ? fenced[1] : content).trim()
  const start = text.search(/[[{]/)
  if (start < 0) return text
  const close = text[start] === "{" ? "}" : "]"
  const end = text.lastIndexOf(close)
  return end > start ? text.slice(start, end + 1) : text.slice(start)
}

export const decodeObject = <A, I>(schema: Schema.Codec<A, I>, content: string): Result.Result<A, string> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(extractJson(content))
  } catch (error) {
    return Result.fail(`the answer is not valid JSON (${(error as Error).message})`)
  }
  return Result.mapError(
    Schema.decodeUnknownResult(schema as unknown as Schema.Codec<A, unknown>)(parsed),
    (issue) => `the JSON does not match the schema: ${issue.message}`
  )
}

export const repairRequest = (req: LLMRequest, schema: Schema.Top, previous: string, problem: string): LLMRequest => ({
  ...objectRequest(req, schema),
  cache: false,
  prompt: undefined,
  messages: [
    ...requestMessages(req),
    { role: "assistant", content: previous },
    {
      role: "user",
      content: `Your previous answer was rejected: ${problem}. Reply with only a JSON value that matches this JSON schema, no prose:\n${
        JSON.stringify(jsonSchemaOf(schema))
      }`
    }
  ]
})

/** `generateObject` over the manager's `generate`: one request, then at most one repair. */
export const makeGenerateObject = (
  generate: (req: LLMRequest, ctx?: CallContext) => Effect.Effect<LLMResponse, LLMError>
) =>
<A, I>(req: LLMRequest, schema: Schema.Codec<A, I>, ctx?: CallContext) =>
  Effect.gen(function*() {
    const first = yield* generate(objectRequest(req, schema), ctx)
    const decoded = decodeObject(schema, first.content)
    if (decoded._tag === "Success") return { object: decoded.success, response: first }
    // One repair attempt: show the model its answer and what was wrong with it.
    const second = yield* generate(repairRequest(req, schema, first.content, decoded.failure), ctx)
    const repaired = decodeObject(schema, second.content)
    if (repaired._tag === "Success") return { object: repaired.success, response: second }
    return yield* new StructuredOutputError({ message: repaired.failure, content: second.content })
  })
