/**
 * Structured output for a local model: llama.cpp samples only tokens a grammar allows, so JSON
 * mode and JSON schemas are enforced during generation instead of hoped for in a prompt.
 */
import type { GbnfJsonSchema, Llama, LlamaGrammar } from "node-llama-cpp"
import { Effect } from "effect"
import type { ResponseFormat } from "@llm-gateway/core/domain/Domain"
import { InvalidRequest } from "@llm-gateway/core/domain/LLMError"

/** The generic JSON grammar, built once per binding. */
const jsonGrammars = new WeakMap<Llama, Promise<LlamaGrammar>>()

export const grammarFor = (
  llama: Llama,
  format: ResponseFormat | undefined,
  model: string
): Effect.Effect<LlamaGrammar | undefined, InvalidRequest> => {
  if (format === undefined) return Effect.succeed(undefined)
  if (format.type === "json_object") {
    return Effect.tryPromise({
      try: () => {
        let grammar = jsonGrammars.get(llama)
        if (grammar === undefined) {
          grammar = llama.getGrammarFor("json")
          jsonGrammars.set(llama, grammar)
        }
        return grammar
      },
      catch: (e) => new InvalidRequest({ message: `JSON mode unavailable: ${String(e)}`, model, param: "response_format" })
    })
  }
  return Effect.tryPromise({
    // node-llama-cpp takes the GBNF-expressible subset of JSON Schema (its type is a literal
    // mirror of the schema, useless for a schema known only at run time) and rejects the rest.
    try: () => llama.createGrammarForJsonSchema(format.schema as GbnfJsonSchema as never),
    catch: (e) =>
      new InvalidRequest({
        message: `JSON schema ${format.name} cannot be enforced by llama.cpp: ${e instanceof Error ? e.message : String(e)}`,
        model,
        param: "response_format"
      })
  })
}
