/**
 * Turns texts into embedding vectors: the semantic cache's port. The gateway's wiring fills it
 * with the router's `embed` on `cache.semantic.model`; tests use a deterministic fake. The cache
 * imports nothing from routing/ (notes/architecture.md "How a request flows", the Embedder).
 */
import { Context, Effect, Layer } from "effect"
import type { LLMError } from "../domain/LLMError.ts"

export interface EmbedderShape {
  /** One vector per input text, in order. */
  readonly embed: (texts: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<ReadonlyArray<number>>, LLMError>
}

export class Embedder extends Context.Service<Embedder, EmbedderShape>()("@llm-gateway/core/Embedder") {
  static readonly layerFrom = (embed: EmbedderShape["embed"]) => Layer.succeed(Embedder, Embedder.of({ embed }))
  /** No embedder: the semantic cache stays off (the default wiring without `cache.semantic`). */
  static readonly none: EmbedderShape = { embed: () => Effect.succeed([]) }
  static readonly layerNone: Layer.Layer<Embedder> = Layer.succeed(Embedder, Embedder.none)
}
