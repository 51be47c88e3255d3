/**
 * A provider declares itself: one value says what the gateway needs to know about a config
 * `type` — its family (its place in the default task order, notes/routing.md), defaults, catalog rows, and `make`
 * (config → `ModelClient`). The gateway builds clients from definitions, and the config accepts
 * a definition's `type` like a built-in one (routing, breakers, limits, cost, metrics).
 *
 * `make` should import its SDK lazily (`import()` inside `make`): a definition is loaded for
 * every gateway, a client only when a provider of that type is configured.
 */
import { Effect, type Schema, type Scope } from "effect"
import type { ProviderEntry } from "../config/ConfigSchema.ts"
import { type ProviderSpec, specsByType } from "../config/ProviderSpec.ts"
import { ConfigurationError } from "../domain/LLMError.ts"
import type { ModelClientShape } from "./ModelClient.ts"

export type { ProviderFamily } from "../config/ConfigSchema.ts"

/**
 * A provider type: its config knowledge (`ProviderSpec`: family, base URL, env variables,
 * bare-id rules, catalog rows) plus how to build its client. `T` is its `type`, `F` its own
 * entry fields: `make` reads `ProviderEntry<T, F>`, the member of the config's union it declares.
 */
export interface ProviderDefinition<T extends string = string, F extends Schema.Struct.Fields = {}> extends ProviderSpec<F> {
  readonly type: T
  /** The npm package `make` imports, named in the ConfigurationError when it is not installed. */
  readonly package?: string | undefined
  /**
   * The client for one `providers[]` entry of this type; its connections close with the scope.
   * A method, so that a list of definitions (`ReadonlyArray<ProviderDefinition>`) can hold each
   * under the common entry type: the gateway hands a definition only entries of its `type`,
   * decoded by its schema (`gatewayConfigWith`).
   */
  make(config: ProviderEntry<NoInfer<T>, NoInfer<F>>): Effect.Effect<ModelClientShape, ConfigurationError, Scope.Scope>
}

/**
 * Declares a provider (identity at run time). `type` and `configFields` fix what `make` is
 * given: `defineProvider({ type: "acme", configFields: { region: Schema.String }, make: (config) => … })`
 * types `config.region` as a string and `config.deployment` as an error.
 */
export function defineProvider<const T extends string>(
  definition: ProviderDefinition<T> & { readonly configFields?: undefined }
): ProviderDefinition<T>
export function defineProvider<const T extends string, const F extends Schema.Struct.Fields>(
  definition: ProviderDefinition<T, F>
): ProviderDefinition<T, F>
// Two signatures, so that without `configFields` the entry type is fixed before `make` is
// checked: a `lazyMake` callback's `config` is then typed without an annotation.
export function defineProvider(definition: ProviderDefinition): ProviderDefinition {
  return definition
}

/** Definitions by `type`; later ones replace earlier ones of the same type (a plug-in may override a built-in). */
export const byType = (definitions: ReadonlyArray<ProviderDefinition>): ReadonlyMap<string, ProviderDefinition> =>
  specsByType(definitions)

const isNotInstalled = (cause: unknown, name: string): boolean =>
  cause instanceof Error && (cause as { code?: unknown }).code === "ERR_MODULE_NOT_FOUND" &&
  cause.message.includes(`'${name}'`)

/**
 * `make` over a lazily imported module: the SDK is loaded when a provider of this type is first
 * built, not with the definition. A package that is not installed (`packageName`, e.g. an optional
 * peer) is a ConfigurationError saying what to install; any other import failure is a defect.
 */
export const lazyMake = <M, C extends ProviderEntry>(
  load: () => Promise<M>,
  make: (module: M, config: C) => Effect.Effect<ModelClientShape, ConfigurationError, Scope.Scope>,
  packageName?: string
) =>
(config: C): Effect.Effect<ModelClientShape, ConfigurationError, Scope.Scope> =>
  Effect.tryPromise({ try: load, catch: (cause) => cause }).pipe(
    Effect.catch((cause) =>
      packageName !== undefined && isNotInstalled(cause, packageName)
        ? Effect.fail(
          new ConfigurationError({
            message: `provider "${config.name}" (type ${config.type}) needs the package ${packageName}: npm install ${packageName}`
          })
        )
        : Effect.die(cause)
    ),
    Effect.flatMap((module) => make(module, config))
  )
