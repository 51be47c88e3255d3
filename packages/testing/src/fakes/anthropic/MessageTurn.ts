/**
 * A scripted turn in Anthropic's Messages wire format: content blocks for a JSON answer
 * (`redacted_thinking`, `thinking` with its `signature`, `text`, `tool_use` with `input`) and,
 * streamed, one `content_block_start` … `content_block_stop` per block with `thinking_delta` +
 * `signature_delta`, `text_delta` and `input_json_delta` fragments — what the real API sends.
 *
 * Also the prompt-cache simulation: with `promptCache`, each `cache_control` breakpoint's prefix
 * (tools, then system, then messages) is written on first sight and read afterwards, and usage
 * reports `cache_creation_input_tokens` / `cache_read_input_tokens` as the API does.
 */
import type * as Http from "node:http"
import { argumentsJson, argumentsObject, type FakeTurn, fakeId, fragments } from "../Script.ts"
import type { IssuedThinking } from "./MessageRules.ts"

type Rec = Record<string, unknown>

export interface AnthropicWireTurn {
  readonly content: ReadonlyArray<Rec>
  readonly stopReason: "end_turn" | "tool_use"
  /** Every character the model produced (thinking, text, tool input), for the fake's token count. */
  readonly producedText: string
}

/** The default signature for a thinking text (opaque base64, like the real ones). */
export const fakeSignature = (thinking: string): string =>
  Buffer.from(`fake-signature:${fakeId("", thinking, thinking.length)}`).toString("base64")

/** The turn a forcing `tool_choice` (`any`, or `tool` with a name) makes when nothing is scripted. */
export const forcedTurn = (body: Rec): FakeTurn | undefined => {
  const choice = body.tool_choice as Rec | undefined
  const tools = Array.isArray(body.tools) ? (body.tools as Array<Rec>) : []
  const name = choice?.type === "tool" ? choice.name : choice?.type === "any" ? tools[0]?.name : undefined
  return typeof name === "string" ? { toolCalls: [{ name, arguments: {} }] } : undefined
}

/** Encodes a turn and records what it issued, so the signature and data are accepted back. */
export const anthropicWireTurn = (turn: FakeTurn, body: Rec, seq: number, issued: IssuedThinking): AnthropicWireTurn => {
  const content: Array<Rec> = []
  if (turn.redactedThinking !== undefined) {
    issued.redacted.add(turn.redactedThinking)
    content.push({ type: "redacted_thinking", data: turn.redactedThinking })
  }
  if (turn.reasoning !== undefined) {
    const signature = turn.signature ?? fakeSignature(turn.reasoning)
    issued.signatures.set(signature, turn.reasoning)
    content.push({ type: "thinking", thinking: turn.reasoning, signature })
  }
  if (turn.text !== undefined) content.push({ type: "text", text: turn.text })
  const single = (body.tool_choice as Rec | undefined)?.disable_parallel_tool_use === true
  const calls = turn.toolCalls ?? []
  for (const [i, call] of (single ? calls.slice(0, 1) : calls).entries()) {
    content.push({ type: "tool_use", id: call.id ?? fakeId("toolu_", `${call.name}:${i}`, seq), name: call.name, input: argumentsObject(call.arguments) })
  }
  const producedText = content
    .map((b) => (b.type === "tool_use" ? JSON.stringify(b.input) : String(b.thinking ?? b.text ?? "")))
    .join("")
  return { content, stopReason: content.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn", producedText }
}

/** The SSE events of one content block, each delta counted separately (for `cutAfter` and friends). */
export const blockEvents = (block: Rec, index: number, textPieces: (text: string) => Array<string>) => {
  const start = (content_block: Rec) => ({ event: "content_block_start", data: { type: "content_block_start", index, content_block } })
  const delta = (d: Rec) => ({ event: "content_block_delta", data: { type: "content_block_delta", index, delta: d } })
  const out: Array<{ event: string; data: Rec; delta?: true }> = []
  switch (block.type) {
    case "redacted_thinking":
      out.push(start(block))
      break
    case "thinking":
      out.push(start({ type: "thinking", thinking: "", signature: "" }))
      for (const piece of fragments(String(block.thinking), 16)) out.push({ ...delta({ type: "thinking_delta", thinking: piece }), delta: true })
      out.push({ ...delta({ type: "signature_delta", signature: block.signature }), delta: true })
      break
    case "text":
      out.push(start({ type: "text", text: "" }))
      for (const piece of textPieces(String(block.text))) out.push({ ...delta({ type: "text_delta", text: piece }), delta: true })
      break
    case "tool_use":
      out.push(start({ type: "tool_use", id: block.id, name: block.name, input: {} }))
      for (const piece of fragments(argumentsJson(block.input))) out.push({ ...delta({ type: "input_json_delta", partial_json: piece }), delta: true })
      break
  }
  out.push({ event: "content_block_stop", data: { type: "content_block_stop", index } })
  return out
}

/** Writes `event: … data: …` frames. */
export const writeSse = (res: Http.ServerResponse, event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)

const blockText = (block: unknown): string => {
  if (typeof block === "string") return block
  if (typeof block !== "object" || block === null) return ""
  const b = block as Rec
  return typeof b.text === "string" ? b.text : typeof b.content === "string" ? b.content : JSON.stringify(b)
}

/**
 * The prompt-cache counts for a request: the longest `cache_control` prefix already seen is
 * read, the rest up to the last breakpoint is written. `count` is the fake's tokenizer.
 */
export const promptCacheUsage = (body: Rec, seen: Set<string>, count: (text: string) => number) => {
  const pieces: Array<{ text: string; breakpoint: boolean }> = []
  const push = (block: unknown) =>
    pieces.push({ text: blockText(block), breakpoint: typeof block === "object" && block !== null && "cache_control" in block })
  for (const tool of Array.isArray(body.tools) ? body.tools : []) push(tool)
  if (typeof body.system === "string") push(body.system)
  else for (const block of Array.isArray(body.system) ? body.system : []) push(block)
  for (const m of Array.isArray(body.messages) ? (body.messages as Array<Rec>) : []) {
    if (typeof m.content === "string") push(m.content)
    else for (const block of Array.isArray(m.content) ? m.content : []) push(block)
  }
  const prefixes: Array<string> = []
  let text = ""
  for (const p of pieces) {
    text += p.text
    if (p.breakpoint) prefixes.push(text)
  }
  if (prefixes.length === 0) return undefined
  const hit = [...prefixes].reverse().find((p) => seen.has(p))
  const read = hit === undefined ? 0 : count(hit)
  const write = count(prefixes.at(-1)!) - read
  for (const p of prefixes) seen.add(p)
  return { read, write }
}

/** A stream fault as the Anthropic fake knows it (the subset this encoder applies). */
export type WireStreamFault =
  | { readonly kind: "cutAfter"; readonly chunks: number }
  | { readonly kind: "streamError"; readonly afterChunks: number; readonly errorType?: string; readonly message?: string }
  | { readonly kind: "truncate"; readonly afterChunks: number }
  | { readonly kind: string }

const sleep = (ms: number) => (ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve())

/** Destroys the socket once what was written has left (a bare destroy would drop the buffer). */
const cut = async (res: Http.ServerResponse) => {
  await new Promise<void>((resolve) => res.write("", () => resolve()))
  await sleep(15)
  res.socket?.destroy()
}

/**
 * Streams a turn: `message_start`, each block's events, `message_delta` with the stop reason
 * and output tokens, `message_stop`. Faults count deltas of any kind (text, thinking, tool input).
 */
export const streamWireTurn = async (
  res: Http.ServerResponse,
  args: {
    readonly message: Rec
    readonly wire: AnthropicWireTurn
    readonly outputTokens: number
    readonly fault: WireStreamFault | undefined
    readonly intervalMs: number
    readonly textPieces: (text: string) => Array<string>
  }
) => {
  const { fault, wire } = args
  res.on("error", () => undefined)
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "request-id": "req_fake" })
  writeSse(res, "message_start", { type: "message_start", message: { ...args.message, content: [], stop_reason: null, stop_sequence: null } })
  let sent = 0
  for (const [index, block] of wire.content.entries()) {
    for (const e of blockEvents(block, index, args.textPieces)) {
      if (e.delta === true) {
        if (fault?.kind === "cutAfter" && "chunks" in fault && sent >= fault.chunks) return cut(res)
        if (fault?.kind === "truncate" && "afterChunks" in fault && sent >= fault.afterChunks) return void res.end()
        if (fault?.kind === "streamError" && "afterChunks" in fault && sent >= fault.afterChunks) {
          const f = fault as Extract<WireStreamFault, { kind: "streamError" }>
          writeSse(res, "error", { type: "error", error: { type: f.errorType ?? "overloaded_error", message: f.message ?? "Overloaded" } })
          return void res.end()
        }
        await sleep(args.intervalMs)
        if (res.destroyed || res.writableEnded) return
        sent++
      }
      writeSse(res, e.event, e.data)
    }
  }
  if (fault?.kind === "cutAfter") return cut(res)
  writeSse(res, "message_delta", {
    type: "message_delta",
    delta: { stop_reason: wire.stopReason, stop_sequence: null },
    usage: { output_tokens: args.outputTokens }
  })
  writeSse(res, "message_stop", { type: "message_stop" })
  res.end()
}
