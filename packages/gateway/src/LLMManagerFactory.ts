/**
 * The two ways a library user gets a manager (seed 003):
 * - `makeLLMManager(config)`: an Effect (scoped) that builds it from a config in the YAML shape;
 * - `createDefaultLLMManager()`: one directly, configured from env, whose methods are plain
 *   Effects with no requirements, so `await Effect.runPromise(manager.generate(req))` just works.
 */
import type { GatewayConfigInput } from "@llm-gateway/core/LLMConfig"
import type { ConfigurationError } from "@llm-gateway/core/LLMError"
import { LLMManager, type LLMManagerShape } from "@llm-gateway/core/LLMManager"
import { Context, Effect, Layer, ManagedRuntime, type Scope, Stream } from "effect"
import { gatewayLayer, type GatewayOptions } from "./GatewayLayer.ts"

export const makeLLMManager = (
  config: GatewayConfigInput
): Effect.Effect<LLMManagerShape, ConfigurationError, Scope.Scope> =>
  Effect.map(Layer.build(gatewayLayer({ config })), (context) => Context.get(context, LLMManager))

export interface DefaultLLMManager extends Omit<LLMManagerShape, "usage"> {
  /** Fails with ConfigurationError only when the env config is invalid (the lazy start failed). */
  readonly usage: Effect.Effect<Effect.Success<LLMManagerShape["usage"]>, ConfigurationError>
  /** Closes provider connections, stores and timers. */
  readonly dispose: () => Promise<void>
}

/**
 * Builds lazily: the first call starts the gateway (a bad env config then fails that call with a
 * ConfigurationError); later calls reuse it.
 */
export const createDefaultLLMManager = (options: GatewayOptions = {}): DefaultLLMManager => {
  const runtime = ManagedRuntime.make(gatewayLayer(options))
  const manager = Effect.map(runtime.contextEffect, (context) => Context.get(context, LLMManager))
  return {
    generate: (req, ctx) => Effect.flatMap(manager, (m) => m.generate(req, ctx)),
    generateStream: (req, ctx) => Stream.unwrap(Effect.map(manager, (m) => m.generateStream(req, ctx))),
    chat: (id, message, options) => Effect.flatMap(manager, (m) => m.chat(id, message, options)),
    embed: (texts, options) => Effect.flatMap(manager, (m) => m.embed(texts, options)),
    generateObject: (req, schema, ctx) => Effect.flatMap(manager, (m) => m.generateObject(req, schema, ctx)),
    usage: Effect.flatMap(manager, (m) => m.usage),
    dispose: () => runtime.dispose()
  }
}
