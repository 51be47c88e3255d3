/**
 * OpenAI's published response schemas (CreateChatCompletionResponse, the stream chunk,
 * embeddings, models, the error envelope, the Responses API's `Response` and
 * `ResponseStreamEvent`, and all they reference) as one JSON Schema 2020-12
 * document with `$defs` (under `schema`), read from the committed fixture `fixtures/openai-schemas.json`.
 * Re-extract from a newer spec with `scripts/extract-openai-schemas.ts`.
 */
import { readFileSync } from "node:fs"

export interface OpenAISchemaFixture {
  readonly $comment: string
  /** Where the schemas come from: the spec's `openapi` and `info.version`, and the root schemas. */
  readonly source: { readonly openapi: string; readonly version: string; readonly roots: ReadonlyArray<string> }
  /** The JSON Schema 2020-12 document: every schema under `$defs`, refs as `#/$defs/Name`. */
  readonly schema: { readonly $schema: string; readonly $defs: Readonly<Record<string, unknown>> }
}

/** A fresh copy on every call: validators may add to what they are given. */
export const openAISchemas = (): OpenAISchemaFixture =>
  JSON.parse(readFileSync(new URL("../fixtures/openai-schemas.json", import.meta.url), "utf8")) as OpenAISchemaFixture
