/**
 * `llm-gateway/testing`: test Layers for code built on llm-gateway, re-exported from
 * `@llm-gateway/testing` so a user needs one package. `layerTest({ responses })` is a whole
 * manager over scripted clients; `makeScriptedClient` is one client to hand to
 * `makeLLMManager(config, { clients: { openai: client } })`.
 */
import * as LayerTest from "@llm-gateway/testing/LayerTest"
import { builtinProviders } from "./BuiltinProviders.ts"

export type { LayerTestOptions, TestGateway, TestGatewayServices } from "@llm-gateway/testing/LayerTest"

/** `@llm-gateway/testing`'s `makeTestGateway`, knowing the built-in provider types (catalog rows, families). */
export const makeTestGateway = (options: LayerTest.LayerTestOptions = {}): LayerTest.TestGateway =>
  LayerTest.makeTestGateway({ ...options, providers: [...builtinProviders, ...(options.providers ?? [])] })

/** `@llm-gateway/testing`'s `layerTest`, knowing the built-in provider types. */
export const layerTest = (options: LayerTest.LayerTestOptions = {}): ReturnType<typeof LayerTest.layerTest> =>
  makeTestGateway(options).layer
export {
  makeScriptedClient,
  Scripted,
  type ScriptedCall,
  type ScriptedClient,
  type ScriptedClientOptions
} from "@llm-gateway/testing/ScriptedModelClient"
