/**
 * A provider declares itself: one value says what the gateway needs to know about a config
 * `type` — its family (its place in the default task order, notes/routing.md), defaults, catalog rows, and `make`
 * (config → `ModelClient`). The gateway builds clients from definitions, and the config accepts
 * a definition's `type` like a built-in one (routing, breakers, limits, cost, metrics).
 *
 * `make` should import its SDK lazily (`import()` inside `make`): a definition is loaded for
 * every gateway, a client only when a provider of that type is configured.
 */
import { Effect, type Scope } from "effect"
import type { ProviderConfig } from "../config/ConfigSchema.ts"
import { type ProviderSpec, specsByType } from "../config/ProviderSpec.ts"
import { ConfigurationError } from "../domain/LLMError.ts"
import type { ModelClientShape } from "./ModelClient.ts"

export type { ProviderFamily } from "../config/ConfigSchema.ts"

/**
 * A provider type: its config knowledge (`ProviderSpec`: family, base URL, env variables,
 * bare-id rules, catalog rows) plus how to build its client.
 */
export interface ProviderDefinition extends ProviderSpec {
  /** The npm package `make` imports, named in the ConfigurationError when it is not installed. */
  readonly package?: string | undefined
  /** The client for one `providers[]` entry; its connections close with the scope. */
  readonly make: (config: ProviderConfig) => Effect.Effect<ModelClientShape, ConfigurationError, Scope.Scope>
}

/** Declares a provider (identity at run time; it checks the shape and keeps the literal `type`). */
export const defineProvider = <const D extends ProviderDefinition>(definition: D): D => definition

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
export const lazyMake = <M>(
  load: () => Promise<M>,
  make: (module: M, config: ProviderConfig) => Effect.Effect<ModelClientShape, ConfigurationError, Scope.Scope>,
  packageName?: string
) =>
(config: ProviderConfig): Effect.Effect<ModelClientShape, ConfigurationError, Scope.Scope> =>
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
