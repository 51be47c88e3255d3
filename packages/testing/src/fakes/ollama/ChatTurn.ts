/**
 * Ollama's side of tools, images and thinking, as `POST /api/chat` speaks it:
 * - requests carry `tools` (OpenAI-style function definitions), `think` (true/false or
 *   "low"|"medium"|"high"), messages with `images` (base64 strings), assistant `tool_calls`
 *   (`{ function: { name, arguments: object } }`) and `tool` messages with `tool_name`;
 * - answers carry `message.thinking`, `message.tool_calls` (arguments as an object, never a
 *   string) and `done_reason: "stop"` even after tool calls; a stream sends the thinking and the
 *   content word by word and each tool call whole, in its own NDJSON line (Ollama parses a call
 *   before emitting it — there are no argument fragments);
 * - what Ollama refuses: tools or thinking for a model without the capability, images for a
 *   model without vision, and image data that is not base64 (Go's decoder error), as
 *   `{ "error": "…" }` 400s. Capabilities come from `/api/show` (`capabilities`).
 */
import { argumentsObject, type FakeTurn } from "../Script.ts"

type Rec = Record<string, unknown>

/** Every capability Ollama reports; a model the fake was not told about has all of them. */
export const ALL_CAPABILITIES = ["completion", "tools", "vision", "thinking"] as const

export const capabilitiesOf = (model: string, configured: Readonly<Record<string, ReadonlyArray<string>>> | undefined): ReadonlyArray<string> =>
  configured?.[model] ?? configured?.[model.replace(/:latest$/, "")] ?? (/embed/.test(model) ? ["embedding"] : ALL_CAPABILITIES)

const qualified = (model: string) => `registry.ollama.ai/library/${model.includes(":") ? model : `${model}:latest`}`

/** Go's `encoding/base64` check: the index of the first byte it would reject, or -1. */
const badBase64At = (data: string): number => {
  const m = /[^A-Za-z0-9+/=]/.exec(data)
  if (m !== null) return m.index
  const pad = data.indexOf("=")
  if (pad >= 0 && pad < data.length - 2) return pad
  return data.length % 4 === 0 ? -1 : data.length - (data.length % 4)
}

/** The `{ error }` text of the 400 Ollama answers, or `undefined` when it takes the request. */
export const checkOllamaChat = (body: Rec, capabilities: ReadonlyArray<string>): string | undefined => {
  const model = String(body.model ?? "")
  const think = body.think
  if (think !== undefined && typeof think !== "boolean" && !["low", "medium", "high"].includes(String(think))) {
    return `invalid think value: "${String(think)}" (must be "high", "medium", "low", true, or false)`
  }
  if (Array.isArray(body.tools) && body.tools.length > 0 && !capabilities.includes("tools")) return `${qualified(model)} does not support tools`
  if (think !== undefined && think !== false && !capabilities.includes("thinking")) return `"${model}" does not support thinking`
  for (const m of Array.isArray(body.messages) ? (body.messages as Array<Rec>) : []) {
    if (!Array.isArray(m.images) || m.images.length === 0) continue
    for (const image of m.images) {
      const at = typeof image === "string" ? badBase64At(image) : 0
      if (at >= 0) return `illegal base64 data at input byte ${at}`
    }
    if (!capabilities.includes("vision")) return "this model is missing data required for image input"
  }
  return undefined
}

export interface OllamaWireTurn {
  readonly message: Rec
  /** NDJSON `message`s of a stream (before the final `done` line). */
  readonly chunks: ReadonlyArray<Rec>
  /** Words the model produced (thinking, content, tool arguments), the fake's `eval_count`. */
  readonly producedText: string
}

/** Encodes a turn; thinking is left out when the request says `think: false`. */
export const ollamaWireTurn = (turn: FakeTurn, body: Rec): OllamaWireTurn => {
  const thinking = body.think === false ? undefined : turn.reasoning
  const calls = (turn.toolCalls ?? []).map((c, index) => ({ function: { index, name: c.name, arguments: argumentsObject(c.arguments) } }))
  const message: Rec = { role: "assistant", content: turn.text ?? "" }
  if (thinking !== undefined) message.thinking = thinking
  if (calls.length > 0) message.tool_calls = calls
  const chunks: Array<Rec> = []
  for (const piece of thinking?.match(/\S+\s*/g) ?? []) chunks.push({ role: "assistant", content: "", thinking: piece })
  for (const piece of turn.text?.match(/\S+\s*/g) ?? []) chunks.push({ role: "assistant", content: piece })
  for (const call of calls) chunks.push({ role: "assistant", content: "", tool_calls: [call] })
  const producedText = [thinking ?? "", turn.text ?? "", ...calls.map((c) => `${c.function.name} ${JSON.stringify(c.function.arguments)}`)].join(" ")
  return { message, chunks, producedText }
}

/** `POST /api/show`'s answer: the model's details and its capabilities. */
export const showResponse = (model: string, capabilities: ReadonlyArray<string>) => ({
  license: "",
  modelfile: `FROM ${model}`,
  parameters: "",
  template: "{{ .Prompt }}",
  details: { parent_model: "", format: "gguf", family: "llama", families: ["llama"], parameter_size: "3.2B", quantization_level: "Q4_K_M" },
  model_info: { "general.architecture": "llama", "llama.context_length": 131072 },
  capabilities,
  modified_at: "2025-01-01T00:00:00Z"
})
