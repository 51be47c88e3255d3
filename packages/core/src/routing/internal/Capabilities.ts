/**
 * Capability planning (notes/rich-messages.md §4): what a request needs of a model — tools, an
 * image / audio clip / PDF among its parts, reasoning, a JSON-Schema answer — against what each
 * deployment can take (`ModelEntry.capabilities`, into which the config writes its provider
 * type's limits, `ProviderSpec.limits`). Absent means unknown, and unknown is assumed capable: only
 * an explicit `false` rules a deployment out, so a catalog that says nothing changes no route.
 */
import type { LLMRequest } from "../../domain/Domain.ts"
import { InvalidRequest } from "../../domain/LLMError.ts"
import { type Capability, fileCapability, type ModelCapabilities } from "../../domain/Messages.ts"

/** One thing the request asks of a model, and where in the request it is asked. */
export interface Need {
  readonly capability: Capability
  /** The request field or part that needs it: `tools`, `messages[0].content[1]`. */
  readonly param: string
  /** `image input is`, `tools are`: the subject of "… not supported by <model>". */
  readonly what: string
}

const fileWhat: Readonly<Record<string, string>> = { vision: "image input is", audio: "audio input is", pdf: "PDF input is" }

const needed = (needs: ReadonlyArray<Need>, capability: Capability): boolean => {
  for (let i = 0; i < needs.length; i++) if (needs[i].capability === capability) return true
  return false
}

/**
 * The first need of each capability, in request order (fields first, then parts); empty for plain
 * text. Only the first can be the one a model fails on (`unmetNeed` answers the first unmet), so a
 * conversation of tool turns names its part once, not once per turn.
 */
export const requestNeeds = (req: LLMRequest): ReadonlyArray<Need> => {
  const needs: Array<Need> = []
  if (req.tools !== undefined && req.tools.length > 0 && req.toolChoice !== "none") {
    needs.push({ capability: "tools", param: "tools", what: "tools are" })
  }
  // `effort: "none"` asks for no reasoning: any model can take that
  if (req.reasoning !== undefined && req.reasoning.effort !== "none") {
    needs.push({ capability: "reasoning", param: "reasoning", what: "reasoning is" })
  }
  if (req.responseFormat?.type === "json_schema") {
    needs.push({ capability: "jsonSchema", param: "response_format", what: "a JSON-Schema response format is" })
  }
  const messages = req.messages ?? []
  for (let i = 0; i < messages.length; i++) {
    const content = messages[i].content
    if (typeof content === "string") continue
    for (let j = 0; j < content.length; j++) {
      const part = content[j]
      if (part.type === "file") {
        const capability = fileCapability(part.mediaType)
        if (capability !== undefined && !needed(needs, capability)) {
          needs.push({ capability, param: `messages[${i}].content[${j}]`, what: fileWhat[capability] })
        }
      } else if ((part.type === "tool-call" || part.type === "tool-result") && !needed(needs, "tools")) {
        needs.push({ capability: "tools", param: `messages[${i}].content[${j}]`, what: "tool calls are" })
      }
    }
  }
  return needs
}

/** The first need a model with these capabilities cannot meet (an explicit `false`). */
export const unmetNeed = (capabilities: ModelCapabilities | undefined, needs: ReadonlyArray<Need>): Need | undefined => {
  if (capabilities === undefined || needs.length === 0) return undefined
  for (const need of needs) if (capabilities[need.capability] === false) return need
  return undefined
}

/** The 400 a model the caller named (or the last one standing) answers an unmet need with. */
export const unsupported = (need: Need, ref: string): InvalidRequest =>
  new InvalidRequest({
    model: ref,
    param: need.param,
    message: `${need.param}: ${need.what} not supported by ${ref}`,
    shouldRetry: false
  })
