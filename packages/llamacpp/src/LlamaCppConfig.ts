/**
 * What a `type: llamacpp` entry may set beyond the common provider fields, and the entry type
 * the client reads. No native code here: the definition (in `llm-gateway`, since this package is
 * an optional peer) declares the same fields, and its `make` hands the client this type.
 */
import type { ProviderEntry } from "@llm-gateway/core/config/ConfigSchema"
import { Schema } from "effect"

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

export const llamacppConfigFields = {
  /** The GGUF file (required: the client refuses an entry without it). */
  modelPath: Schema.optional(Schema.NonEmptyString),
  contextLength: Schema.optional(PositiveInt),
  threads: Schema.optional(PositiveInt),
  gpu: Schema.optional(Schema.Boolean),
  /** How many contexts (parallel generations) the model serves. */
  contexts: Schema.optional(PositiveInt)
}

export type LlamaCppConfig = ProviderEntry<"llamacpp", typeof llamacppConfigFields>
