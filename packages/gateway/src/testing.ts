/**
 * `llm-gateway/testing`: test Layers for code built on llm-gateway, re-exported from
 * `@llm-gateway/testing` so a user needs one package. `layerTest({ responses })` is a whole
 * manager over scripted clients; `makeScriptedClient` is one client to hand to
 * `makeLLMManager(config, { clients: { openai: client } })`.
 */
export { type LayerTestOptions, layerTest, makeTestGateway, type TestGateway, type TestGatewayServices } from "@llm-gateway/testing/LayerTest"
export {
  makeScriptedClient,
  Scripted,
  type ScriptedCall,
  type ScriptedClient,
  type ScriptedClientOptions
} from "@llm-gateway/testing/ScriptedModelClient"
