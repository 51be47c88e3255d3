/**
 * Rebuilds a streamed answer's parts from its chunks: reasoning deltas joined, each tool call's
 * argument fragments concatenated by `index` and parsed once the stream is over. Used where a
 * whole answer is needed after streaming it (the cache, the SDK-facing collectors), and the
 * inverse for a cached answer replayed as a stream.
 */
import type { ResponsePart, ResponseToolCall, StreamChunk, ToolCallDelta } from "./Domain.ts"

interface Reasoning {
  text: string
  metadata: Record<string, unknown> | undefined
}

interface OpenCall {
  id: string
  name: string
  args: string
}

/** A tool call's JSON arguments; text that is not JSON stays a string (the model's bad JSON is still its answer). */
export const parseArguments = (args: string): unknown => {
  if (args.trim() === "") return {}
  try {
    return JSON.parse(args)
  } catch {
    return args
  }
}

/**
 * Reasoning arrives as several parts when the provider streams several blocks — Anthropic sends
 * a `redacted_thinking` block (its payload as metadata, no text) and `thinking` blocks (text
 * deltas, then a signature as metadata). Metadata closes a part: text after it starts the next
 * one, and metadata arriving while the open part already has some starts a part of its own. Each
 * keeps its own payload, so every block can be sent back byte for byte (one merged part would
 * keep only the last block's metadata and lose a redacted payload).
 */
export class StreamedParts {
  private readonly reasoning: Array<Reasoning> = []
  private readonly calls = new Map<number, OpenCall>()

  /** True once any non-text part has streamed. */
  get rich(): boolean {
    return this.reasoning.length > 0 || this.calls.size > 0
  }

  add(chunk: StreamChunk): void {
    if (chunk.reasoningDelta !== undefined && chunk.reasoningDelta !== "") this.addReasoning(chunk.reasoningDelta)
    if (chunk.reasoningMetadata !== undefined) this.addReasoningMetadata(chunk.reasoningMetadata)
    if (chunk.toolCallDeltas !== undefined) for (const d of chunk.toolCallDeltas) this.addCall(d)
  }

  private addReasoning(delta: string): void {
    const open = this.reasoning.at(-1)
    if (open === undefined || open.metadata !== undefined) this.reasoning.push({ text: delta, metadata: undefined })
    else open.text += delta
  }

  private addReasoningMetadata(metadata: Record<string, unknown>): void {
    const open = this.reasoning.at(-1)
    if (open === undefined || open.metadata !== undefined) this.reasoning.push({ text: "", metadata })
    else open.metadata = metadata
  }

  private addCall(d: ToolCallDelta): void {
    const call = this.calls.get(d.index)
    if (call === undefined) {
      this.calls.set(d.index, { id: d.id ?? "", name: d.name ?? "", args: d.argumentsDelta ?? "" })
      return
    }
    if (d.id !== undefined && call.id === "") call.id = d.id
    if (d.name !== undefined && call.name === "") call.name = d.name
    if (d.argumentsDelta !== undefined) call.args += d.argumentsDelta
  }

  /** Reasoning, text, tool calls (by index) — `undefined` when the answer was text only. */
  parts(content: string): ReadonlyArray<ResponsePart> | undefined {
    if (!this.rich) return undefined
    const parts: Array<ResponsePart> = []
    for (const r of this.reasoning) {
      parts.push({ type: "reasoning", text: r.text, ...(r.metadata !== undefined ? { metadata: r.metadata } : {}) })
    }
    if (content !== "") parts.push({ type: "text", text: content })
    for (const [, c] of [...this.calls].sort(([a], [b]) => a - b)) {
      parts.push({ type: "tool-call", id: c.id, name: c.name, params: parseArguments(c.args) } satisfies ResponseToolCall)
    }
    return parts
  }
}

/**
 * The non-text parts of an answer as stream chunks (for a replay): the reasoning first, then
 * each tool call whole in one fragment, in order.
 */
export const partChunks = (parts: ReadonlyArray<ResponsePart> | undefined): {
  readonly before: ReadonlyArray<StreamChunk>
  readonly after: ReadonlyArray<StreamChunk>
} => {
  const before: Array<StreamChunk> = []
  const after: Array<StreamChunk> = []
  if (parts === undefined) return { before, after }
  let index = 0
  for (const p of parts) {
    if (p.type === "reasoning") {
      before.push({ delta: "", reasoningDelta: p.text, ...(p.metadata !== undefined ? { reasoningMetadata: p.metadata } : {}) })
    } else if (p.type === "tool-call") {
      const argumentsDelta = typeof p.params === "string" ? p.params : JSON.stringify(p.params ?? {})
      after.push({ delta: "", toolCallDeltas: [{ index: index++, id: p.id, name: p.name, argumentsDelta }] })
    }
  }
  return { before, after }
}
