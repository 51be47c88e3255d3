/**
 * The Responses API's SSE events for a streamed answer (notes/http-api.md "Responses API"):
 * `response.created`, `response.in_progress`, then per output item `response.output_item.added`
 * … `.done` with its content events (text: `content_part.*` and `output_text.*`; reasoning:
 * `reasoning_summary_part.*` and `reasoning_summary_text.*`; calls:
 * `function_call_arguments.*`), and `response.completed` with the whole Response and usage. A
 * failure after the first chunk ends the stream with `response.failed`: every stream ends with
 * one of the two, which Codex requires. Each event carries a strictly increasing
 * `sequence_number`.
 */
import type { StreamChunk, Usage } from "@llm-gateway/core/domain/Domain"
import type { ApiError } from "../HttpError.ts"
import {
  failureCode,
  functionCallItem,
  newId,
  type OutputItem,
  outputText,
  reasoningItem,
  responseObject,
  type ResponsesCall,
  type ResponseState,
  visibleItems
} from "./responsesWire.ts"
import type { SseEncoder } from "./sseStream.ts"

interface TextItem {
  readonly kind: "message"
  readonly id: string
  text: string
}
interface ReasoningOpen {
  readonly kind: "reasoning"
  readonly id: string
  text: string
  metadata: Record<string, unknown> | undefined
}
interface CallOpen {
  readonly kind: "function_call"
  readonly id: string
  readonly callId: string
  readonly name: string
  args: string
  readonly outputIndex: number
}
type Open = TextItem | ReasoningOpen | CallOpen

export class ResponsesEncoder implements SseEncoder {
  private seq = 0
  private readonly items: Array<OutputItem> = []
  /** The text or reasoning item being written; function calls stay open until another item starts. */
  private current: TextItem | ReasoningOpen | undefined
  private readonly calls = new Map<number, CallOpen>()
  private openCalls: Array<CallOpen> = []
  private usage: Usage | undefined
  private finish: StreamChunk["finishReason"]
  private readonly call: ResponsesCall
  readonly id: string
  private readonly createdAt: number
  private readonly model: string
  constructor(call: ResponsesCall, id: string, createdAt: number, model: string) {
    this.call = call
    this.id = id
    this.createdAt = createdAt
    this.model = model
  }

  private event(type: string, data: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, ...data, sequence_number: this.seq++ })}\n\n`
  }

  /** The Response as it stands; `items` keep `encrypted_content` (the stored thread needs it). */
  state(status: ResponseState["status"], error?: ResponseState["error"]): ResponseState {
    return { id: this.id, createdAt: this.createdAt, model: this.model, status, output: this.items, usage: this.usage, error }
  }

  private response(status: ResponseState["status"], error?: ResponseState["error"]) {
    const s = this.state(status, error)
    return responseObject({ ...s, output: visibleItems(s.output, this.call) }, this.call.echo)
  }

  get incomplete(): boolean {
    return this.finish === "length"
  }

  start(): string {
    return this.event("response.created", { response: this.response("in_progress") }) +
      this.event("response.in_progress", { response: this.response("in_progress") })
  }

  private added(item: OutputItem): string {
    return this.event("response.output_item.added", { output_index: this.items.length, item })
  }

  private closeCurrent(): string {
    const c = this.current
    if (c === undefined) return ""
    this.current = undefined
    const outputIndex = this.items.length
    if (c.kind === "message") {
      const part = outputText(c.text)
      const item = { type: "message", id: c.id, status: this.incomplete ? "incomplete" : "completed", role: "assistant", content: [part] }
      this.items.push(item)
      const at = { item_id: c.id, output_index: outputIndex, content_index: 0 }
      return this.event("response.output_text.done", { ...at, text: c.text, logprobs: [] }) +
        this.event("response.content_part.done", { ...at, part }) +
        this.event("response.output_item.done", { output_index: outputIndex, item })
    }
    const item = reasoningItem(c.id, c.text, c.metadata)
    this.items.push(item)
    const at = { item_id: c.id, output_index: outputIndex, summary_index: 0 }
    return this.event("response.reasoning_summary_text.done", { ...at, text: c.text }) +
      this.event("response.reasoning_summary_part.done", { ...at, part: { type: "summary_text", text: c.text } }) +
      this.event("response.output_item.done", { output_index: outputIndex, item: visibleItems([item], this.call)[0] })
  }

  private closeCalls(): string {
    let out = ""
    for (const c of this.openCalls) {
      const item = functionCallItem(c.id, c.callId, c.name, c.args, this.call.namespaces)
      this.items[c.outputIndex] = item
      out += this.event("response.function_call_arguments.done", { item_id: c.id, output_index: c.outputIndex, name: c.name, arguments: c.args }) +
        this.event("response.output_item.done", { output_index: c.outputIndex, item })
    }
    this.openCalls = []
    return out
  }

  /** Closes whatever is open before an item of another kind starts. */
  private closeAll(): string {
    return this.closeCurrent() + this.closeCalls()
  }

  private chunk(c: StreamChunk): string {
    if (c.usage !== undefined) this.usage = c.usage
    if (c.finishReason !== undefined) this.finish = c.finishReason
    let out = ""
    if (c.reasoningDelta !== undefined && c.reasoningDelta.length > 0 || c.reasoningMetadata !== undefined) {
      if (this.current?.kind !== "reasoning") {
        out += this.closeAll()
        const id = newId("rs")
        this.current = { kind: "reasoning", id, text: "", metadata: undefined }
        out += this.added({ type: "reasoning", id, summary: [] }) +
          this.event("response.reasoning_summary_part.added", {
            item_id: id,
            output_index: this.items.length,
            summary_index: 0,
            part: { type: "summary_text", text: "" }
          })
      }
      const r = this.current as ReasoningOpen
      if (c.reasoningMetadata !== undefined) r.metadata = { ...r.metadata, ...c.reasoningMetadata }
      if (c.reasoningDelta !== undefined && c.reasoningDelta.length > 0) {
        r.text += c.reasoningDelta
        out += this.event("response.reasoning_summary_text.delta", { item_id: r.id, output_index: this.items.length, summary_index: 0, delta: c.reasoningDelta })
      }
    }
    if (c.delta.length > 0) {
      if (this.current?.kind !== "message") {
        out += this.closeAll()
        const id = newId("msg")
        this.current = { kind: "message", id, text: "" }
        out += this.added({ type: "message", id, status: "in_progress", role: "assistant", content: [] }) +
          this.event("response.content_part.added", { item_id: id, output_index: this.items.length, content_index: 0, part: outputText("") })
      }
      const m = this.current as TextItem
      m.text += c.delta
      out += this.event("response.output_text.delta", { item_id: m.id, output_index: this.items.length, content_index: 0, delta: c.delta, logprobs: [] })
    }
    for (const d of c.toolCallDeltas ?? []) {
      let open = this.calls.get(d.index)
      if (open === undefined || (d.id !== undefined && d.id !== open.callId)) {
        out += this.closeCurrent()
        const id = newId("fc")
        open = { kind: "function_call", id, callId: d.id ?? `call_${id}`, name: d.name ?? "", args: "", outputIndex: this.items.length }
        this.calls.set(d.index, open)
        this.openCalls.push(open)
        const item = { type: "function_call", id, call_id: open.callId, name: open.name, arguments: "", status: "in_progress" }
        out += this.added(item)
        // a placeholder keeps output indexes in order; closeCalls puts the finished call here
        this.items.push(item)
      }
      if (d.argumentsDelta !== undefined && d.argumentsDelta.length > 0) {
        open.args += d.argumentsDelta
        out += this.event("response.function_call_arguments.delta", { item_id: open.id, output_index: open.outputIndex, delta: d.argumentsDelta })
      }
    }
    return out
  }

  chunks(batch: ReadonlyArray<StreamChunk>): string {
    let out = ""
    for (const c of batch) out += this.chunk(c)
    return out
  }

  /** Closes every open item; the stored Response is built from here, before `end` is written. */
  finishItems(): string {
    return this.closeAll()
  }

  private closing = ""

  /** Runs when the upstream ends, before `end`: the items are complete (the route stores them then). */
  settle(): ResponseState {
    this.closing = this.finishItems()
    return this.state(this.incomplete ? "incomplete" : "completed")
  }

  end(): string {
    const closing = this.closing !== "" ? this.closing : this.finishItems()
    this.closing = ""
    return closing + this.event("response.completed", { response: this.response(this.incomplete ? "incomplete" : "completed") })
  }

  error(e: ApiError): string {
    const error = { code: failureCode(e), message: e.message }
    // items closed by `settle` (a store that failed after the upstream ended) still get their events
    const closing = this.closing + this.closeAll()
    this.closing = ""
    return closing + this.event("response.failed", { response: this.response("failed", error) })
  }
}
