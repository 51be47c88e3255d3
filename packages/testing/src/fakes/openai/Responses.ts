/**
 * FakeOpenAI's `POST /v1/responses`: OpenAI's Responses API, JSON or SSE (its typed events, each
 * with its `sequence_number`), answering a text reply or a scripted turn's function calls — what
 * the gateway's pass-through to OpenAI sends and relays (notes/http-api.md "Pass-through"). The
 * body the fake received is recorded like every request (`FakeOpenAI.responsesRequests`).
 *
 * Token counts follow the fake's tokenizer (one per word): `input_tokens` counts the text of
 * `instructions` and `input`, `output_tokens` the answer's words plus any reasoning tokens.
 */
import type * as Http from "node:http"
import type { FakeTurn } from "../Script.ts"

export interface FakeResponsesUsage {
  readonly cachedTokens?: number
  readonly reasoningTokens?: number
}

type Rec = Record<string, unknown>

const textOfInput = (input: unknown): string => {
  if (typeof input === "string") return input
  if (!Array.isArray(input)) return ""
  return input.map((item: Rec) => {
    if (typeof item?.content === "string") return item.content
    if (Array.isArray(item?.content)) return (item.content as Array<Rec>).map((p) => (typeof p.text === "string" ? p.text : "")).join(" ")
    if (typeof item?.output === "string") return item.output
    return ""
  }).join(" ")
}

/** The Response object for an answer (`output` and `status` as given). */
const responseObject = (id: string, body: Rec, output: Array<Rec>, status: string, usage: Rec | null, createdAt: number): Rec => ({
  id,
  object: "response",
  created_at: createdAt,
  status,
  background: false,
  error: null,
  incomplete_details: null,
  instructions: body.instructions ?? null,
  max_output_tokens: body.max_output_tokens ?? null,
  model: body.model,
  output,
  parallel_tool_calls: body.parallel_tool_calls ?? true,
  previous_response_id: body.previous_response_id ?? null,
  reasoning: { effort: (body.reasoning as Rec | undefined)?.effort ?? null, summary: null },
  store: body.store ?? true,
  temperature: body.temperature ?? 1,
  text: body.text ?? { format: { type: "text" } },
  tool_choice: body.tool_choice ?? "auto",
  tools: body.tools ?? [],
  top_p: body.top_p ?? 1,
  truncation: "disabled",
  usage,
  user: null,
  metadata: body.metadata ?? {}
})

export interface ResponsesAnswerOptions {
  readonly seq: number
  readonly text: string
  readonly turn: FakeTurn | undefined
  readonly usage: FakeResponsesUsage | undefined
  readonly tokenCount: (text: string) => number
  /** The reply's pieces for streaming. */
  readonly split: (text: string) => Array<string>
}

/** Answers one `POST /v1/responses`. */
export const answerResponses = (res: Http.ServerResponse, body: Rec, o: ResponsesAnswerOptions): void => {
  const id = `resp_fake_${o.seq}`
  const createdAt = Math.floor(Date.now() / 1000)
  const calls = o.turn?.toolCalls ?? []
  const text = o.turn !== undefined && calls.length > 0 ? o.turn.text ?? "" : o.text
  const message: Rec | undefined = text.length > 0 || calls.length === 0
    ? {
      id: `msg_fake_${o.seq}`,
      type: "message",
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", text, annotations: [], logprobs: [] }]
    }
    : undefined
  const functionCalls: Array<Rec> = calls.map((c, i) => ({
    id: `fc_fake_${o.seq}_${i}`,
    type: "function_call",
    status: "completed",
    call_id: c.id ?? `call_fake_${o.seq}_${i}`,
    name: c.name,
    arguments: typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments)
  }))
  const output = [...(message !== undefined ? [message] : []), ...functionCalls]
  const inputTokens = o.tokenCount(`${typeof body.instructions === "string" ? body.instructions : ""} ${textOfInput(body.input)}`)
  const reasoningTokens = o.usage?.reasoningTokens ?? 0
  const outputTokens = o.tokenCount(text) + functionCalls.reduce((n, c) => n + o.tokenCount(String(c.arguments)), 0) + reasoningTokens
  const usage = {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: Math.min(o.usage?.cachedTokens ?? 0, inputTokens) },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: reasoningTokens },
    total_tokens: inputTokens + outputTokens
  }
  const done = responseObject(id, body, output, "completed", usage, createdAt)
  if (body.stream !== true) {
    const json = JSON.stringify(done)
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(json) })
    res.end(json)
    return
  }
  let sequence = 0
  const frames: Array<string> = []
  const emit = (type: string, data: Rec) => frames.push(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...data })}\n\n`)
  const pending = responseObject(id, body, [], "in_progress", null, createdAt)
  emit("response.created", { response: pending })
  emit("response.in_progress", { response: pending })
  output.forEach((item, outputIndex) => {
    if (item.type === "message") {
      emit("response.output_item.added", { output_index: outputIndex, item: { ...item, status: "in_progress", content: [] } })
      const part = { type: "output_text", text: "", annotations: [], logprobs: [] }
      emit("response.content_part.added", { item_id: item.id, output_index: outputIndex, content_index: 0, part })
      for (const delta of o.split(text)) {
        emit("response.output_text.delta", { item_id: item.id, output_index: outputIndex, content_index: 0, delta, logprobs: [] })
      }
      emit("response.output_text.done", { item_id: item.id, output_index: outputIndex, content_index: 0, text, logprobs: [] })
      emit("response.content_part.done", { item_id: item.id, output_index: outputIndex, content_index: 0, part: { ...part, text } })
    } else {
      emit("response.output_item.added", { output_index: outputIndex, item: { ...item, status: "in_progress", arguments: "" } })
      emit("response.function_call_arguments.delta", { item_id: item.id, output_index: outputIndex, delta: item.arguments })
      emit("response.function_call_arguments.done", { item_id: item.id, output_index: outputIndex, name: item.name, arguments: item.arguments })
    }
    emit("response.output_item.done", { output_index: outputIndex, item })
  })
  emit("response.completed", { response: done })
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
  res.end(frames.join(""))
}
