/**
 * The chat reader checked against both schemas it sits between (notes/architecture.md
 * "Validation"):
 * - the domain side: every field of `LLMRequest` (messages, parts, tools… found through effect
 *   Schema's AST) is produced by `readChatRequest` from the OpenAI wire field that maps to it, or
 *   is listed as not coming from OpenAI's wire, with the reason. A new domain field fails here
 *   until the reader handles it or the table says why not.
 * - the wire side: every field of OpenAI's `CreateChatCompletionRequest` (the committed fixture),
 *   sent with a valid value, is read, passed through in `extra`, or refused with a 400 naming it,
 *   as notes/http-api.md says.
 * And since a reader carries on after a violation (with neutral values), bodies with fields made
 * wrong at random must still answer a value or a 400, never throw.
 */
import { readFileSync } from "node:fs"
import { LLMRequest } from "@llm-gateway/core/domain/Domain"
import { openAISchemas } from "@llm-gateway/testing/OpenAISchemas"
import { SchemaAST } from "effect"
import { describe, expect, it } from "vitest"
import { ApiError } from "../src/HttpError.ts"
import { readMessagesRequest } from "../src/internal/anthropicWire.ts"
import { type ChatCall, type GatewayHints, readChatRequest } from "../src/internal/chatWire.ts"
import { readEmbeddingsRequest } from "../src/internal/embeddingsWire.ts"
import { readChat } from "../src/internal/seedWire.ts"

const noHints: GatewayHints = { task: undefined, strategy: undefined, noCache: false }
const user = { role: "user", content: "hi" }
const base = { model: "auto", messages: [user] }

const read = (body: Record<string, unknown>, hints: Partial<GatewayHints> = {}): ChatCall => {
  const call = readChatRequest({ ...base, ...body }, { ...noHints, ...hints })
  if (call instanceof ApiError) throw new Error(`refused: ${call.param} ${call.message}`)
  return call
}

// ---- the domain side -------------------------------------------------------------------------

/**
 * Every leaf field of a schema, as a path: `.name` a property, `[]` an array's items, `{role=user}`
 * the member of a union of structs that has that literal (`{1}` when it has none).
 */
const leafPaths = (ast: SchemaAST.AST, path = "", out: Array<string> = []): Array<string> => {
  switch (ast._tag) {
    case "Union": {
      const members = ast.types.filter((t) => t._tag !== "Undefined")
      if (members.length === 1) return leafPaths(members[0], path, out)
      members.forEach((m, i) =>
        m._tag === "Objects" && m.propertySignatures.length > 0 ? leafPaths(m, `${path}${labelOf(m) ?? `{${i}}`}`, out) : leafPaths(m, path, out)
      )
      return out
    }
    case "Objects":
      // a record (`extra`, `options`, a JSON schema) is one field
      if (ast.propertySignatures.length === 0) out.push(path)
      for (const p of ast.propertySignatures) leafPaths(p.type, path === "" ? String(p.name) : `${path}.${String(p.name)}`, out)
      return out
    case "Arrays":
      return leafPaths(ast.rest[0], `${path}[]`, out)
    case "Suspend":
      return leafPaths(ast.thunk(), path, out)
    default:
      if (!out.includes(path)) out.push(path)
      return out
  }
}

const labelOf = (o: SchemaAST.Objects): string | undefined => {
  for (const key of ["role", "type", "_tag"]) {
    const p = o.propertySignatures.find((s) => s.name === key)
    if (p !== undefined && p.type._tag === "Literal") return `{${key}=${String(p.type.literal)}}`
  }
  return undefined
}

/** The values at `path` in a decoded request (every array item, only union members that match). */
const valuesAt = (value: unknown, path: string): Array<unknown> => {
  let values = [value]
  for (const [, name, each, key, literal] of path.matchAll(/\.?([A-Za-z_]+)|(\[\])|\{(?:(\w+)=([^}]+)|\d+)\}/g)) {
    values = values.flatMap((v): Array<unknown> => {
      if (name !== undefined) return typeof v === "object" && v !== null ? [(v as Record<string, unknown>)[name]] : []
      if (each !== undefined) return Array.isArray(v) ? v : []
      if (key !== undefined) return typeof v === "object" && v !== null && (v as Record<string, unknown>)[key] === literal ? [v] : []
      return [v]
    })
  }
  return values.filter((v) => v !== undefined)
}

type Source =
  | { readonly body: Record<string, unknown>; readonly hints?: Partial<GatewayHints> }
  | { readonly notFromWire: string }

const imagePart = { type: "image_url", image_url: { url: "https://example.com/cat.png", detail: "high" } }
const toolTurns = [
  user,
  {
    role: "assistant",
    content: "Let me look.",
    tool_calls: [{ id: "call_1", type: "function", function: { name: "lookup", arguments: "{\"q\":\"x\"}" } }]
  },
  { role: "tool", tool_call_id: "call_1", content: "found" }
]
const jsonSchema = { type: "json_schema", json_schema: { name: "answer", schema: { type: "object" }, strict: true, description: "d" } }
const tool = { type: "function", function: { name: "lookup", description: "Looks up", parameters: { type: "object" }, strict: true } }
const system = { body: { messages: [{ role: "system", content: "Be terse." }, user] } }
const userParts = { body: { messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, imagePart] }] } }
const userFile = {
  body: { messages: [{ role: "user", content: [{ type: "file", file: { filename: "a.pdf", file_data: "data:application/pdf;base64,JVBERi0=" } }] }] }
}
const toolCalls = { body: { messages: toolTurns } }

const anthropicOnly = "Anthropic's cache_control; OpenAI's chat wire has no per-message or per-part options"
const noAssistantFiles = "OpenAI's chat requests carry no files, reasoning or tool results in assistant turns (the Anthropic reader produces them)"
const providerSide = "set by a provider for a call it ran itself; no OpenAI request field"

/** Where each domain field comes from on OpenAI's chat wire (a request that produces it), or why it does not. */
const fromWire: Record<string, Source> = {
  "prompt": { notFromWire: "the library's and seed endpoints' one-turn shorthand; OpenAI's wire sends messages" },
  "messages[]{role=system}.role": system,
  "messages[]{role=system}.content": system,
  "messages[]{role=system}.options": { notFromWire: anthropicOnly },
  "messages[]{role=user}.role": { body: {} },
  "messages[]{role=user}.content": { body: {} },
  "messages[]{role=user}.content[]{type=text}.type": userParts,
  "messages[]{role=user}.content[]{type=text}.text": userParts,
  "messages[]{role=user}.content[]{type=text}.options": { notFromWire: anthropicOnly },
  "messages[]{role=user}.content[]{type=file}.type": userParts,
  "messages[]{role=user}.content[]{type=file}.mediaType": userParts,
  "messages[]{role=user}.content[]{type=file}.fileName": userFile,
  "messages[]{role=user}.content[]{type=file}.data": userParts,
  "messages[]{role=user}.content[]{type=file}.data{_tag=URL}._tag": userParts,
  "messages[]{role=user}.content[]{type=file}.data{_tag=URL}.href": userParts,
  // image_url.detail
  "messages[]{role=user}.content[]{type=file}.options": userParts,
  "messages[]{role=user}.options": { notFromWire: anthropicOnly },
  "messages[]{role=assistant}.role": toolCalls,
  "messages[]{role=assistant}.content": toolCalls,
  "messages[]{role=assistant}.content[]{type=text}.type": toolCalls,
  "messages[]{role=assistant}.content[]{type=text}.text": toolCalls,
  "messages[]{role=assistant}.content[]{type=text}.options": { notFromWire: anthropicOnly },
  "messages[]{role=assistant}.content[]{type=file}.type": { notFromWire: noAssistantFiles },
  "messages[]{role=assistant}.content[]{type=file}.mediaType": { notFromWire: noAssistantFiles },
  "messages[]{role=assistant}.content[]{type=file}.fileName": { notFromWire: noAssistantFiles },
  "messages[]{role=assistant}.content[]{type=file}.data": { notFromWire: noAssistantFiles },
  "messages[]{role=assistant}.content[]{type=file}.data{_tag=URL}._tag": { notFromWire: noAssistantFiles },
  "messages[]{role=assistant}.content[]{type=file}.data{_tag=URL}.href": { notFromWire: noAssistantFiles },
  "messages[]{role=assistant}.content[]{type=file}.options": { notFromWire: noAssistantFiles },
  "messages[]{role=assistant}.content[]{type=reasoning}.type": { notFromWire: noAssistantFiles },
  "messages[]{role=assistant}.content[]{type=reasoning}.text": { notFromWire: noAssistantFiles },
  "messages[]{role=assistant}.content[]{type=reasoning}.options": { notFromWire: noAssistantFiles },
  "messages[]{role=assistant}.content[]{type=tool-call}.type": toolCalls,
  "messages[]{role=assistant}.content[]{type=tool-call}.id": toolCalls,
  "messages[]{role=assistant}.content[]{type=tool-call}.name": toolCalls,
  "messages[]{role=assistant}.content[]{type=tool-call}.params": toolCalls,
  "messages[]{role=assistant}.content[]{type=tool-call}.providerExecuted": { notFromWire: providerSide },
  "messages[]{role=assistant}.content[]{type=tool-call}.options": { notFromWire: anthropicOnly },
  "messages[]{role=assistant}.content[]{type=tool-result}.type": { notFromWire: noAssistantFiles },
  "messages[]{role=assistant}.content[]{type=tool-result}.id": { notFromWire: noAssistantFiles },
  "messages[]{role=assistant}.content[]{type=tool-result}.name": { notFromWire: noAssistantFiles },
  "messages[]{role=assistant}.content[]{type=tool-result}.isFailure": { notFromWire: noAssistantFiles },
  "messages[]{role=assistant}.content[]{type=tool-result}.result": { notFromWire: noAssistantFiles },
  "messages[]{role=assistant}.content[]{type=tool-result}.providerExecuted": { notFromWire: noAssistantFiles },
  "messages[]{role=assistant}.content[]{type=tool-result}.options": { notFromWire: noAssistantFiles },
  "messages[]{role=assistant}.options": { notFromWire: anthropicOnly },
  "messages[]{role=tool}.role": toolCalls,
  "messages[]{role=tool}.content[].type": toolCalls,
  "messages[]{role=tool}.content[].id": toolCalls,
  // the name comes from the assistant's call with that id
  "messages[]{role=tool}.content[].name": toolCalls,
  "messages[]{role=tool}.content[].isFailure": toolCalls,
  "messages[]{role=tool}.content[].result": toolCalls,
  "messages[]{role=tool}.content[].providerExecuted": { notFromWire: providerSide },
  "messages[]{role=tool}.content[].options": { notFromWire: anthropicOnly },
  "messages[]{role=tool}.options": { notFromWire: anthropicOnly },
  "taskType": { body: {}, hints: { task: "sql" } },
  "model": { body: { model: "openai/gpt-4o-mini" } },
  "preferences.maxTokens": { body: { max_tokens: 40 } },
  "preferences.temperature": { body: { temperature: 0.5 } },
  "preferences.topP": { body: { top_p: 0.9 } },
  "preferences.stop[]": { body: { stop: ["END"] } },
  "preferences.strategy": { body: {}, hints: { strategy: "cost" } },
  "conversationId": { notFromWire: "conversations are the seed chat endpoint's (conversation_id); OpenAI's chat is stateless" },
  "cache": { body: {}, hints: { noCache: true } },
  "responseFormat{type=json_object}.type": { body: { response_format: { type: "json_object" } } },
  "responseFormat{type=json_schema}.type": { body: { response_format: jsonSchema } },
  "responseFormat{type=json_schema}.name": { body: { response_format: jsonSchema } },
  "responseFormat{type=json_schema}.schema": { body: { response_format: jsonSchema } },
  "responseFormat{type=json_schema}.strict": { body: { response_format: jsonSchema } },
  "responseFormat{type=json_schema}.description": { body: { response_format: jsonSchema } },
  "n": { body: { n: 2 } },
  "extra": { body: { seed: 7 } },
  "maxTokensField": { body: { max_completion_tokens: 40 } },
  "tools[].name": { body: { tools: [tool] } },
  "tools[].description": { body: { tools: [tool] } },
  "tools[].parameters": { body: { tools: [tool] } },
  "tools[].strict": { body: { tools: [tool] } },
  "toolChoice": { body: { tools: [tool], tool_choice: "required" } },
  "toolChoice{1}.tool": { body: { tools: [tool], tool_choice: { type: "function", function: { name: "lookup" } } } },
  "toolChoice{2}.mode": { notFromWire: "OpenAI's allowed_tools choice is not read yet: a 400 naming tool_choice" },
  "toolChoice{2}.oneOf[]": { notFromWire: "OpenAI's allowed_tools choice is not read yet: a 400 naming tool_choice" },
  "parallelToolCalls": { body: { tools: [tool], parallel_tool_calls: false } },
  "reasoning.effort": { body: { reasoning_effort: "low" } },
  "reasoning.budgetTokens": { notFromWire: "Anthropic's thinking budget; OpenAI's wire has reasoning_effort only" }
}

describe("every LLMRequest field is produced by the chat reader, or said not to come from OpenAI's wire", () => {
  const paths = leafPaths(LLMRequest.ast)

  it("the table names exactly the schema's fields (a new domain field needs a row)", () => {
    expect(paths.length).toBeGreaterThan(80)
    expect(Object.keys(fromWire).sort()).toEqual([...paths].sort())
  })

  it.each(paths.filter((p) => fromWire[p] !== undefined && "body" in fromWire[p]))("%s", (path) => {
    const source = fromWire[path] as Extract<Source, { body: unknown }>
    const call = read(source.body, source.hints)
    expect(valuesAt(call.request, path), `${path} from ${JSON.stringify(source)}`).not.toEqual([])
  })

  it("the reasons are reasons", () => {
    for (const source of Object.values(fromWire)) if ("notFromWire" in source) expect(source.notFromWire.length).toBeGreaterThan(20)
  })
})

// ---- the wire side ---------------------------------------------------------------------------

type JsonSchema = { readonly [k: string]: any }
const defs = openAISchemas().schema.$defs as Record<string, JsonSchema>
const resolve = (s: JsonSchema): JsonSchema => (typeof s.$ref === "string" ? resolve(defs[s.$ref.slice("#/$defs/".length)]) : s)

/** A small value the schema accepts: its default (unless null), else its first choice, else the least of its type. */
const exampleOf = (raw: JsonSchema): unknown => {
  const s = resolve(raw)
  if (s.default !== undefined && s.default !== null) return s.default
  if (s.const !== undefined) return s.const
  if (Array.isArray(s.enum)) return s.enum[0]
  for (const key of ["anyOf", "oneOf"]) {
    if (Array.isArray(s[key])) return exampleOf(s[key].find((m: JsonSchema) => resolve(m).type !== "null"))
  }
  if (Array.isArray(s.allOf)) return Object.assign({}, ...s.allOf.map(exampleOf))
  const type = Array.isArray(s.type) ? s.type.find((t: string) => t !== "null") : s.type
  switch (type) {
    case "object": {
      const out: Record<string, unknown> = {}
      for (const name of s.required ?? []) out[name] = exampleOf(s.properties[name])
      return out
    }
    case "array":
      return [exampleOf(s.items ?? {})]
    case "string":
      return "x"
    case "integer":
    case "number":
      return Math.min(Math.max(1, s.minimum ?? 1), s.maximum ?? 1)
    case "boolean":
      return true
    default:
      return "x"
  }
}

/** Every property of the request, through `allOf`. */
const propertiesOf = (raw: JsonSchema): Record<string, JsonSchema> => {
  const s = resolve(raw)
  return Object.assign({}, ...(s.allOf ?? []).map(propertiesOf), s.properties ?? {})
}

type Outcome = "read" | "extra" | "refused"

/** What the reader does with each field (notes/http-api.md "POST /v1/chat/completions"). */
const READ = new Set([
  "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "stream", "stream_options",
  "response_format", "n", "tools", "tool_choice", "parallel_tool_calls", "reasoning_effort"
])
const REFUSED = new Set(["functions"])
const expected = (field: string): Outcome => (READ.has(field) ? "read" : REFUSED.has(field) ? "refused" : "extra")

const outcomeOf = (field: string, value: unknown): Outcome | string => {
  const call = readChatRequest({ ...base, [field]: value }, noHints)
  if (call instanceof ApiError) return call.param === field ? "refused" : `400 naming ${call.param}: ${call.message}`
  if (call.request.extra !== undefined && field in call.request.extra) {
    return JSON.stringify(call.request.extra[field]) === JSON.stringify(value) ? "extra" : "extra, changed"
  }
  return "read"
}

describe("every field of OpenAI's CreateChatCompletionRequest is read, passed through or refused", () => {
  const fields = propertiesOf(defs.CreateChatCompletionRequest)

  it("the fixture has the request's fields", () => {
    expect(Object.keys(fields).length).toBeGreaterThan(30)
    for (const f of READ) expect(fields).toHaveProperty(f)
  })

  it.each(Object.keys(fields))("%s", (field) => {
    const value = field === "model" ? "openai/gpt-4o" : exampleOf(fields[field])
    expect(outcomeOf(field, value), `${field}: ${JSON.stringify(value)}`).toBe(expected(field))
  })

  it("the notes' field table says the same: 400 rows are refused, pass-through rows are carried in extra", () => {
    const notes = readFileSync(new URL("../../../notes/http-api.md", import.meta.url), "utf8")
    const table = notes.slice(notes.indexOf("| field | openai / azure-openai |"))
    const rows = table.slice(0, table.indexOf("\n\n")).split("\n").slice(2)
    let checked = 0
    for (const row of rows) {
      const [, first, openai] = row.split("|").map((c) => c.trim())
      for (const [, field] of first.matchAll(/`([a-z_]+)`/g)) {
        if (!(field in fields)) continue
        // `n` is read (LLMRequest.n) and then passed on to OpenAI as n
        if (openai === "400") expect(expected(field), field).toBe("refused")
        else if (openai === "passed through" && field !== "n") expect(expected(field), field).toBe("extra")
        checked++
      }
    }
    expect(checked).toBeGreaterThan(15)
  })
})

// ---- results, not exceptions -----------------------------------------------------------------

describe("readers answer the first violation in reading order", () => {
  it("a body wrong everywhere names its first field, as a throwing reader did", () => {
    const e = readChatRequest({ model: 1, messages: "x", temperature: 9 }, noHints)
    expect(e).toBeInstanceOf(ApiError)
    expect(e).toMatchObject({ status: 400, code: "invalid_request", param: "model", message: "'model' must be a string, got a number" })
  })

  it("a bad message in the middle is named, later bad fields are not", () => {
    const e = readChatRequest({ ...base, messages: [user, { role: "robot", content: "x" }, 7], max_tokens: -1 }, noHints)
    expect(e).toMatchObject({ param: "messages[1].role", message: `'messages[1].role' must be one of system, developer, user, assistant, tool, got "robot"` })
  })

  it("embeddings and seed readers too", () => {
    expect(readEmbeddingsRequest({ model: "m", input: [[1, -2]], encoding_format: "hex" })).toMatchObject({ param: "input[0][1]" })
    expect(readChat({ conversation_id: "c1", messages: [user, { role: "assistant", content: "a" }] })).toMatchObject({
      param: "messages[1].role",
      message: "the last message of a conversation turn must be the user's"
    })
  })
})

// ---- carrying on after a violation never breaks a reader ---------------------------------------

describe("readers carry on after a violation without throwing", () => {
  // a small deterministic generator: the same bodies on every run
  let seed = 12345
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
  const odd = [null, 0, -1, 1.5, "", "x", true, [], [1], {}, { type: "text" }, [{}], [null], { role: "user" }]
  /** `value` with one node somewhere inside replaced by an odd value. */
  const mutate = (value: unknown): unknown => {
    if (random() < 0.3 || value === null || typeof value !== "object") return odd[Math.floor(random() * odd.length)]
    if (Array.isArray(value)) {
      const i = Math.floor(random() * value.length)
      return value.map((v, j) => (j === i ? mutate(v) : v))
    }
    const keys = Object.keys(value)
    const key = keys[Math.floor(random() * keys.length)]
    return { ...value, [key]: mutate((value as Record<string, unknown>)[key]) }
  }
  const chatBody = {
    ...base,
    messages: [...toolTurns, { role: "user", content: [{ type: "text", text: "a" }, imagePart] }],
    tools: [tool],
    tool_choice: { type: "function", function: { name: "lookup" } },
    response_format: jsonSchema,
    stream_options: { include_usage: true },
    stop: ["a", "b"],
    max_tokens: 5
  }
  const cases: ReadonlyArray<readonly [string, unknown, (body: unknown) => unknown]> = [
    ["chat", chatBody, (b) => readChatRequest(b, noHints)],
    ["anthropic messages", {
      model: "claude",
      max_tokens: 5,
      system: [{ type: "text", text: "s" }],
      messages: [
        { role: "user", content: [{ type: "text", text: "a" }, { type: "image", source: { type: "base64", media_type: "image/png", data: "AA==" } }] },
        { role: "assistant", content: [{ type: "thinking", thinking: "t", signature: "s" }, { type: "tool_use", id: "t1", name: "f", input: {} }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: [{ type: "text", text: "r" }] }] }
      ],
      tools: [{ name: "f", input_schema: { type: "object" } }],
      tool_choice: { type: "tool", name: "f" },
      thinking: { type: "enabled", budget_tokens: 100 },
      metadata: { user_id: "u" }
    }, (b) => readMessagesRequest(b, noHints)],
    ["embeddings", { model: "m", input: [[1, 2], [3]], encoding_format: "float", dimensions: 8 }, readEmbeddingsRequest],
    ["seed chat", { conversation_id: "c", messages: [user], temperature: 1, stop: "x" }, readChat]
  ]

  it.each(cases)("%s: 3000 bodies, each with one field made wrong, answer a value or a 400", (_, body, reader) => {
    let refused = 0
    for (let i = 0; i < 3000; i++) {
      const result = reader(mutate(mutate(body)))
      if (result instanceof ApiError) {
        expect(result.status).toBe(400)
        refused++
      }
    }
    expect(refused).toBeGreaterThan(500)
  })
})
