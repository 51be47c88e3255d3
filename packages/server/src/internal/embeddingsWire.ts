/**
 * OpenAI's embeddings wire format. The official SDK asks for `encoding_format: "base64"` by
 * default (little-endian float32, decoded client-side), so both encodings are served.
 */
import type { EmbedResult } from "@llm-gateway/core/LLMManager"
import { modelRef, pinnedModel } from "./chatWire.ts"
import * as V from "./validate.ts"

export interface EmbeddingsCall {
  readonly model: string | undefined
  readonly input: ReadonlyArray<string>
  readonly base64: boolean
}

/** OpenAI's own cap on inputs per request. */
const MAX_INPUTS = 2048

export const readEmbeddingsRequest = (raw: unknown): EmbeddingsCall => {
  const body = V.object(raw)
  const model = V.string(body, "model")
  const input = body.input
  let texts: ReadonlyArray<string>
  if (typeof input === "string") texts = [input]
  else if (Array.isArray(input)) {
    if (input.length === 0) return V.fail("input", "'input' must not be empty")
    if (input.length > MAX_INPUTS) return V.fail("input", `'input' takes at most ${MAX_INPUTS} items`)
    for (let i = 0; i < input.length; i++) {
      if (typeof input[i] !== "string") {
        V.fail(
          `input[${i}]`,
          typeof input[i] === "number" || Array.isArray(input[i])
            ? "token-array inputs are not supported by this gateway; send strings"
            : `'input[${i}]' must be a string`
        )
      }
    }
    texts = input as ReadonlyArray<string>
  } else {
    return V.fail("input", input === undefined || input === null ? "'input' is required" : "'input' must be a string or an array of strings")
  }
  const format = V.optString(body, "encoding_format")
  if (format !== undefined && format !== "float" && format !== "base64") {
    V.fail("encoding_format", "'encoding_format' must be float or base64")
  }
  return { model: pinnedModel(model), input: texts, base64: format === "base64" }
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
