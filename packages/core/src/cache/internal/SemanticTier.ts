/**
 * The cache's semantic tier: the request's text embedded by the `Embedder` port, searched in
 * the `SemanticIndex` of its scope and task. Off (every call a no-op) unless
 * `cache.semantic.enabled` and an embedder is wired. An embedding failure turns the tier off
 * for that call only, warned about once.
 */
import { Clock, Effect } from "effect"
import type { CacheConfig } from "../../config/ConfigSchema.ts"
import type { EmbedderShape } from "../Embedder.ts"
import type { CacheResult } from "./entries.ts"
import { groupOf, normalise, SemanticIndex } from "./SemanticIndex.ts"

export interface SemanticLookup {
  /** The text whose meaning is compared (typically the last user message). */
  readonly text: string
  readonly scope: string
  readonly task: string
}

/** A probe that missed: where to file the answer once it is computed. */
export interface SemanticProbe {
  readonly group: string
  readonly vector: Float64Array
}

export interface SemanticTier {
  /** On: an embedder is wired and `cache.semantic.enabled`. */
  readonly on: boolean
  /** A close enough earlier answer, or the probe to file this answer under (no vector: nothing to file). */
  readonly search: (lookup: SemanticLookup) => Effect.Effect<CacheResult | SemanticProbe | undefined>
  readonly add: (k: string, probe: SemanticProbe, value: CacheResult, expiresAt: number) => void
}

export const makeSemanticTier = Effect.fnUntraced(function*(config: CacheConfig, embedderOption: EmbedderShape | undefined) {
  const embedder = config.semantic.enabled ? embedderOption : undefined
  if (config.enabled && config.semantic.enabled && embedder === undefined) {
    yield* Effect.logWarning("cache.semantic.enabled but no Embedder is provided: semantic cache is off")
  }
  const threshold = config.semantic.threshold
  const index = new SemanticIndex<CacheResult>(config.maxSize)
  let warned = false

  const embed = (e: EmbedderShape, text: string): Effect.Effect<Float64Array | undefined> =>
    e.embed([text]).pipe(
      Effect.map((vectors) => (vectors[0] === undefined ? undefined : normalise(vectors[0]))),
      Effect.catch((error) => {
        if (warned) return Effect.succeed(undefined)
        warned = true
        return Effect.as(Effect.logWarning(`semantic cache: embedding failed, exact cache only: ${error._tag}`), undefined)
      })
    )

  const search: SemanticTier["search"] = (lookup) => {
    if (embedder === undefined) return Effect.succeed(undefined)
    const group = groupOf(lookup.scope, lookup.task)
    return Effect.flatMap(embed(embedder, lookup.text), (vector) =>
      vector === undefined ? Effect.succeed(undefined) : Clock.clockWith((clock) => {
        const found = index.search(group, vector, threshold, clock.currentTimeMillisUnsafe())
        return Effect.succeed(found !== undefined ? found.value : { group, vector })
      }))
  }

  return {
    on: embedder !== undefined,
    search,
    add: (k, probe, value, expiresAt) => index.add(k, probe.group, probe.vector, value, expiresAt)
  } satisfies SemanticTier
})
