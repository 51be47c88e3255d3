/**
 * A scripted turn in OpenAI's chat completions wire format: the assistant `message` of a JSON
 * answer (`tool_calls` with `function.arguments` as a JSON string, finish reason `tool_calls`)
 * and the stream's `delta`s — each call opens with its `index`, `id`, `type` and `name` and an
 * empty `arguments`, then `{ index, function: { arguments } }` fragments follow, calls one after
 * the other as OpenAI sends them.
 *
 * Reasoning text goes out as `reasoning_content` (the field vLLM, DeepSeek and LM Studio use on
 * the OpenAI wire; OpenAI itself only reports `completion_tokens_details.reasoning_tokens`).
 */
import { argumentsJson, type FakeTurn, fakeId, fragments } from "../Script.ts"

type Rec = Record<string, unknown>

export interface OpenAIWireTurn {
  /** The assistant message of a JSON answer. */
  readonly message: Rec
  readonly finishReason: "stop" | "tool_calls"
  /** Stream deltas after the opening `{ role: "assistant" }` one (text, reasoning, tool-call pieces). */
  readonly deltas: ReadonlyArray<Rec>
  /** Text the model produced (content, reasoning, arguments), for the fake's word-count usage. */
  readonly producedText: string
  readonly reasoningTokens: number
}

/**
 * The turn a request forces when nothing is scripted: `tool_choice` naming a function (or
 * `required`, taking the first tool) yields a call with `{}` arguments, as a real model must call.
 */
export const forcedTurn = (body: Rec): FakeTurn | undefined => {
  const choice = body.tool_choice
  const tools = Array.isArray(body.tools) ? (body.tools as Array<Rec>) : []
  const named = typeof choice === "object" && choice !== null ? ((choice as Rec).function as Rec | undefined)?.name : undefined
  const first = (tools[0]?.function as Rec | undefined)?.name
  const name = typeof named === "string" ? named : choice === "required" ? first : undefined
  return typeof name === "string" ? { toolCalls: [{ name, arguments: {} }] } : undefined
}

/** Encodes a turn; `parallel_tool_calls: false` keeps only the first call, as the API does. */
export const openAIWireTurn = (turn: FakeTurn, body: Rec, seq: number, countTokens: (text: string) => number): OpenAIWireTurn => {
  const all = turn.toolCalls ?? []
  const calls = (body.parallel_tool_calls === false ? all.slice(0, 1) : all).map((c, i) => ({
    id: c.id ?? fakeId("call_", `${c.name}:${i}`, seq),
    type: "function" as const,
    function: { name: c.name, arguments: argumentsJson(c.arguments) }
  }))
  const message: Rec = { role: "assistant", content: turn.text ?? null, refusal: null }
  if (calls.length > 0) message.tool_calls = calls
  if (turn.reasoning !== undefined) message.reasoning_content = turn.reasoning

  const deltas: Array<Rec> = []
  if (turn.reasoning !== undefined) for (const piece of fragments(turn.reasoning, 16)) deltas.push({ reasoning_content: piece })
  if (turn.text !== undefined) for (const piece of turn.text.match(/\S+\s*|\s+/g) ?? []) deltas.push({ content: piece })
  for (const [index, call] of calls.entries()) {
    deltas.push({ tool_calls: [{ index, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } }] })
    for (const piece of fragments(call.function.arguments)) deltas.push({ tool_calls: [{ index, function: { arguments: piece } }] })
  }
  const reasoningTokens = turn.reasoningTokens ?? (turn.reasoning === undefined ? 0 : countTokens(turn.reasoning))
  return {
    message,
    finishReason: calls.length > 0 ? "tool_calls" : "stop",
    deltas,
    producedText: [turn.text ?? "", ...calls.map((c) => `${c.function.name} ${c.function.arguments}`)].join(" "),
    reasoningTokens
  }
}
