/**
 * The built-in provider definitions, for core's config and router tests. Core cannot depend on
 * the provider packages (they depend on it), so its config functions take definitions as a
 * parameter; these tests hand them the list `llm-gateway` ships (a test-only import).
 */
import type { ModelEntry } from "../src/config/ConfigSchema.ts"
import type { ProviderFamily } from "../src/config/ConfigSchema.ts"
import { builtinProviders } from "../../gateway/src/BuiltinProviders.ts"

export { builtinProviders }

/** A built-in type's catalog rows. */
export const rowsOf = (type: string): ReadonlyArray<ModelEntry> => builtinProviders.find((d) => d.type === type)?.models ?? []

/** A built-in type's family (what the config writes into its entries). */
export const familyOfType = (type: string): ProviderFamily | undefined => builtinProviders.find((d) => d.type === type)?.family
