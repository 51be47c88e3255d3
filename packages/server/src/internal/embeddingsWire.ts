/**
 * OpenAI's embeddings wire format. The official SDK asks for `encoding_format: "base64"` by
 * default (little-endian float32, decoded client-side), so both encodings are served. `input`
 * may be token arrays (`number[]` or `number[][]`, as OpenAI's spec allows) and `dimensions`
 * shortens the vectors: both go to OpenAI-wire upstreams as sent; a provider that cannot take
 * them answers 400 naming the field.
 */
import type { EmbeddingInput } from "@llm-gateway/core/domain/Domain"
import type { EmbedResult } from "@llm-gateway/core/manager/LLMManager"
import type { ApiError } from "../HttpError.ts"
import { modelRef, pinnedModel } from "./chatWire.ts"
import * as V from "./validate.ts"

export interface EmbeddingsCall {
  readonly model: string | undefined
  readonly input: EmbeddingInput
  readonly base64: boolean
  readonly dimensions: number | undefined
}

/** OpenAI's own cap on inputs per request. */
const MAX_INPUTS = 2048

export const readEmbeddingsRequest = (raw: unknown): EmbeddingsCall | ApiError => {
  const r = new V.Reader()
  const body = r.object(raw)
  if (r.failed) return r.error()
  const model = r.string(body, "model")
  const input = body.input
  let texts: EmbeddingInput | undefined
  if (typeof input === "string") texts = [input]
  else if (Array.isArray(input)) {
    if (input.length === 0) r.fail("input", "'input' must not be empty")
    else if (input.length > MAX_INPUTS) r.fail("input", `'input' takes at most ${MAX_INPUTS} items`)
    else {
      texts = typeof input[0] === "number"
        ? [tokens(r, input, "input")]
        : Array.isArray(input[0])
        ? input.map((ids, i) => tokens(r, ids, `input[${i}]`))
        : strings(r, input)
    }
  } else {
    r.fail(
      "input",
      input === undefined || input === null
        ? "'input' is required"
        : "'input' must be a string, an array of strings, or token arrays"
    )
  }
  const format = r.optString(body, "encoding_format")
  if (format !== undefined && format !== "float" && format !== "base64") {
    r.fail("encoding_format", "'encoding_format' must be float or base64")
  }
  const dimensions = r.optPositiveInt(body, "dimensions")
  if (r.failed || texts === undefined) return r.error()
  return { model: pinnedModel(model), input: texts, base64: format === "base64", dimensions }
}

const strings = (r: V.Reader, input: ReadonlyArray<unknown>): ReadonlyArray<string> => {
  for (let i = 0; i < input.length; i++) {
    if (typeof input[i] !== "string") {
      r.fail(`input[${i}]`, `'input[${i}]' must be a string (inputs are all texts or all token arrays)`)
      break
    }
  }
  return input as ReadonlyArray<string>
}

/** One token array: non-empty, integer token ids. */
const tokens = (r: V.Reader, raw: unknown, param: string): ReadonlyArray<number> => {
  if (!Array.isArray(raw)) {
    r.fail(param, `'${param}' must be an array of token ids (inputs are all texts or all token arrays)`)
    return []
  }
  if (raw.length === 0) r.fail(param, `'${param}' must not be empty`)
  for (let i = 0; i < raw.length; i++) {
    const t = raw[i]
    if (typeof t !== "number" || !Number.isInteger(t) || t < 0) {
      r.fail(`${param}[${i}]`, `'${param}[${i}]' must be a token id (an integer ≥ 0)`)
      break
    }
  }
  return raw as ReadonlyArray<number>
}

const toBase64 = (vector: ReadonlyArray<number>): string =>
  Buffer.from(Float32Array.from(vector).buffer).toString("base64")

export const embeddingsJson = (r: EmbedResult, base64: boolean): string =>
  JSON.stringify({
    object: "list",
    data: r.embeddings.map((embedding, index) => ({
      object: "embedding",
      index,
      embedding: base64 ? toBase64(embedding) : embedding
    })),
    model: modelRef(r.provider, r.model),
    usage: { prompt_tokens: r.usage.promptTokens, total_tokens: r.usage.totalTokens }
  })
