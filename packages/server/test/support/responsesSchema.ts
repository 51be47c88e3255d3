/**
 * Validation of Responses API bodies against OpenAI's published schema (the committed extract in
 * `@llm-gateway/testing/OpenAISchemas`, ajv in the 2020-12 dialect), and the SSE reader the
 * Responses tests share.
 */
import type { GatewayConfigInput } from "@llm-gateway/core/config/LLMConfig"
import { openAISchemas } from "@llm-gateway/testing/OpenAISchemas"
import { Ajv2020 } from "ajv/dist/2020.js"

/**
 * The config with OpenAI's fake as an `openai-compatible` provider (same name, same refs): a
 * deployment of type `openai` answers `/v1/responses` natively (pass-through), and these tests are
 * about the translated path every other provider takes.
 */
export const translated = (config: GatewayConfigInput): GatewayConfigInput => {
  const c = config as { providers: ReadonlyArray<{ type: string }> }
  return { ...config, providers: c.providers.map((p) => (p.type === "openai" ? { ...p, type: "openai-compatible" } : p)) } as GatewayConfigInput
}

const ajv = new Ajv2020({ allErrors: true, strictTypes: false })
ajv.addFormat("unixtime", { type: "number", validate: (n: number) => Number.isInteger(n) && n >= 0 })
ajv.addFormat("float", { type: "number", validate: (n: number) => Number.isFinite(n) })
ajv.addFormat("date", /^\d{4}-\d{2}-\d{2}$/)
ajv.addFormat("uri", (s: string) => URL.canParse(s))
const doc = openAISchemas().schema
ajv.addSchema({ ...doc, $id: "https://openai.test/spec" })

type Def = { anyOf?: Array<{ $ref?: string }>; properties?: { type?: { enum?: Array<string> } } }
const defs = doc.$defs as Record<string, Def>

/** The event schema of each stream event `type` (the branches of `ResponseStreamEvent`). */
const eventSchemas = new Map<string, string>()
for (const branch of defs.ResponseStreamEvent.anyOf ?? []) {
  const name = branch.$ref?.replace("#/$defs/", "")
  for (const type of (name === undefined ? undefined : defs[name]?.properties?.type?.enum) ?? []) eventSchemas.set(type, name!)
}

const check = (name: string, body: unknown): Array<string> => {
  const validate = ajv.getSchema(`https://openai.test/spec#/$defs/${name}`)
  if (validate === undefined) throw new Error(`no schema ${name}`)
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${name}${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`)
}

/**
 * The validation errors of `body` against component schema `name` ([] when it conforms). A
 * stream event is checked against `ResponseStreamEvent` and, for readable errors, against the
 * one branch its `type` names.
 */
export const violations = (name: "Response" | "ResponseStreamEvent" | "ErrorResponse", body: unknown): Array<string> => {
  const errors = check(name, body)
  if (errors.length === 0 || name !== "ResponseStreamEvent") return errors
  const branch = eventSchemas.get(String((body as { type?: unknown }).type))
  return branch === undefined ? [`no event schema for type ${JSON.stringify((body as { type?: unknown }).type)}`] : check(branch, body)
}

export interface SseEvent {
  readonly event: string
  readonly data: Record<string, unknown>
}

/** The `event:` / `data:` frames of an SSE body, in order. */
export const sseEvents = (text: string): Array<SseEvent> =>
  text.split("\n\n").filter((f) => f.trim() !== "").map((frame) => {
    const lines = frame.split("\n")
    const event = lines.find((l) => l.startsWith("event: "))?.slice(7) ?? ""
    const data = lines.find((l) => l.startsWith("data: "))?.slice(6) ?? "{}"
    return { event, data: JSON.parse(data) as Record<string, unknown> }
  })
