/**
 * Extracts the OpenAI response schemas the gateway must honour from OpenAI's published OpenAPI
 * document into `packages/testing/fixtures/openai-schemas.json`, a plain JSON Schema 2020-12
 * document that the tests validate real server answers against (tests never read the spec
 * from outside the repo). The file holds `source` (the spec's version and the root schemas) and
 * `schema`, the document to give a validator.
 *
 *   ./node_modules/.bin/node packages/testing/scripts/extract-openai-schemas.ts path/to/openai-openapi.json
 *
 * The spec is the `openapi.json` of github.com/openai/openai-openapi. Rewrites, each one the
 * smallest that lets a JSON Schema validator read OpenAPI 3.1 as OpenAI means it:
 * - `#/components/schemas/X` refs become `#/$defs/X`;
 * - `nullable: true` (an OpenAPI 3.0 leftover a 2020-12 validator ignores) becomes
 *   `anyOf: [<schema>, {type: "null"}]`;
 * - boolean `exclusiveMinimum` / `exclusiveMaximum` (3.0 style) become the 3.1 numeric form;
 * - `discriminator` (a code-generation hint; `oneOf` already decides) and the `x-*` / `example`
 *   annotations are dropped;
 * - draft 2019-09's `$recursiveAnchor: true` / `$recursiveRef: "#"` (a filter made of filters, in
 *   the Responses API's file-search tool; 2020-12 has no such keywords) become a plain `$ref` to
 *   the component schema they sit in.
 * Nothing else changes: in particular `Embedding.embedding` still allows only an array, although
 * `encoding_format: "base64"` answers with a string — the tests handle that quirk themselves.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

/** The bodies the gateway sends on its OpenAI-compatible routes (chat, embeddings, models, responses), and the chat request it reads. */
const ROOTS = [
  "CreateChatCompletionResponse",
  "CreateChatCompletionStreamResponse",
  "CreateEmbeddingResponse",
  "ListModelsResponse",
  "Model",
  "ErrorResponse",
  // the Responses API (POST /v1/responses): the answer and every SSE event
  "Response",
  "ResponseStreamEvent",
  // what clients send to POST /v1/chat/completions: every field is read, passed through or refused (validation.test.ts)
  "CreateChatCompletionRequest"
] as const

const REF = "#/components/schemas/"

type Json = null | boolean | number | string | Array<Json> | { [k: string]: Json }
type JsonObject = { [k: string]: Json }

const isObject = (j: Json | undefined): j is JsonObject => typeof j === "object" && j !== null && !Array.isArray(j)

/**
 * Rewrites one schema node (see the header) of component schema `self`; `inProperties`: keys
 * here are property names, not keywords.
 */
const rewrite = (node: Json, self: string, inProperties = false): Json => {
  if (Array.isArray(node)) return node.map((n) => rewrite(n, self))
  if (!isObject(node)) return node
  const out: JsonObject = {}
  for (const [k, v] of Object.entries(node)) {
    if (inProperties) {
      out[k] = rewrite(v, self)
      continue
    }
    if (k.startsWith("x-") || k === "example" || k === "discriminator" || k === "nullable" || k === "$recursiveAnchor") continue
    if (k === "$ref" && typeof v === "string" && v.startsWith(REF)) out[k] = `#/$defs/${v.slice(REF.length)}`
    else if (k === "$recursiveRef" && v === "#") out.$ref = `#/$defs/${self}`
    else if ((k === "exclusiveMinimum" || k === "exclusiveMaximum") && typeof v === "boolean") continue
    else out[k] = rewrite(v, self, k === "properties" || k === "patternProperties" || k === "$defs")
  }
  if (!inProperties) {
    // 3.0's `minimum: 0, exclusiveMinimum: true` is 3.1's `exclusiveMinimum: 0`
    for (const [flag, bound] of [["exclusiveMinimum", "minimum"], ["exclusiveMaximum", "maximum"]] as const) {
      if (node[flag] === true && typeof node[bound] === "number") {
        out[flag] = node[bound]
        delete out[bound]
      }
    }
    if (node.nullable === true) {
      const { description, ...schema } = out
      return description === undefined
        ? { anyOf: [schema, { type: "null" }] }
        : { description, anyOf: [schema, { type: "null" }] }
    }
  }
  return out
}

/** Every component schema `name` refers to, transitively. */
const closure = (schemas: JsonObject, roots: ReadonlyArray<string>): Array<string> => {
  const seen = new Set<string>()
  const visit = (name: string) => {
    if (seen.has(name)) return
    if (schemas[name] === undefined) throw new Error(`schema ${name} is not in the document`)
    seen.add(name)
    walk(schemas[name])
  }
  const walk = (n: Json): void => {
    if (Array.isArray(n)) n.forEach(walk)
    else if (isObject(n)) {
      for (const [k, v] of Object.entries(n)) {
        if (k === "$ref" && typeof v === "string" && v.startsWith(REF)) visit(v.slice(REF.length))
        else walk(v)
      }
    }
  }
  roots.forEach(visit)
  return [...seen].sort()
}

const main = () => {
  const [specPath, outArg] = process.argv.slice(2)
  if (specPath === undefined) {
    console.error("usage: extract-openai-schemas.ts <openai-openapi.json> [out.json]")
    process.exit(2)
  }
  const out = outArg ?? fileURLToPath(new URL("../fixtures/openai-schemas.json", import.meta.url))
  const spec = JSON.parse(readFileSync(specPath, "utf8")) as JsonObject
  const info = spec.info as JsonObject
  const schemas = (spec.components as JsonObject).schemas as JsonObject
  const $defs: JsonObject = {}
  for (const name of closure(schemas, ROOTS)) $defs[name] = rewrite(schemas[name], name)
  const doc = {
    $comment: "Generated by packages/testing/scripts/extract-openai-schemas.ts from OpenAI's openapi.json " +
      "(github.com/openai/openai-openapi); do not edit. Re-extract: ./node_modules/.bin/node " +
      "packages/testing/scripts/extract-openai-schemas.ts <openai-openapi.json>",
    source: { openapi: spec.openapi, version: info.version, roots: [...ROOTS] },
    schema: { $schema: "https://json-schema.org/draft/2020-12/schema", $defs }
  }
  writeFileSync(out, JSON.stringify(doc, null, 2) + "\n")
  console.log(`${out}: ${Object.keys($defs).length} schemas from OpenAI API ${String(info.version)}`)
}

main()
