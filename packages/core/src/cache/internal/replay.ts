/**
 * A cached answer replayed as a stream, so a streaming caller gets the same shape on a hit as on
 * a miss: the content in a few chunks (cut at whitespace where possible, so a UI renders whole
 * words), then one closing chunk with usage, finish reason and cost, as providers end theirs.
 */
import { Stream } from "effect"
import type { LLMResponse, StreamChunk } from "../../domain/Domain.ts"
import { partChunks } from "../../domain/StreamedParts.ts"

/** At most this many content chunks: enough to look like a stream, few enough to be cheap. */
const MAX_CHUNKS = 8
const MIN_CHUNK = 16

export const splitContent = (content: string): Array<string> => {
  if (content.length === 0) return []
  const target = Math.max(MIN_CHUNK, Math.ceil(content.length / MAX_CHUNKS))
  const parts: Array<string> = []
  let start = 0
  while (start < content.length) {
    let end = Math.min(content.length, start + target)
    if (end < content.length) {
      // Extend to the next whitespace (bounded), so words are not split across chunks; a short
      // tail without whitespace joins this chunk; only a very long "word" is cut hard.
      const ws = content.slice(end, end + target).search(/\s/)
      if (ws >= 0) end += ws + 1
      else if (content.length - start <= 2 * target) end = content.length
    }
    parts.push(content.slice(start, end))
    start = end
  }
  return parts
}

export const replayChunks = (response: LLMResponse): Array<StreamChunk> => {
  const { provider, model } = response
  const { after, before } = partChunks(response.parts)
  const chunks: Array<StreamChunk> = [
    ...before,
    ...splitContent(response.content).map((delta): StreamChunk => ({ delta })),
    ...after
  ].map((c) => ({ ...c, provider, model, cached: true }))
  chunks.push({
    delta: "",
    provider,
    model,
    usage: response.usage,
    finishReason: response.finishReason,
    costUsd: response.costUsd,
    cached: true
  })
  return chunks
}

export const replayAsStream = (response: LLMResponse): Stream.Stream<StreamChunk> =>
  Stream.fromIterable(replayChunks(response))
