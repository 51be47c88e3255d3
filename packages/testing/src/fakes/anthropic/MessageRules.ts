/**
 * What Anthropic's Messages API refuses about tools, tool blocks, images, documents and
 * thinking, with the texts of its real 400s (`invalid_request_error`), so the gateway's
 * translation is checked by the fake as the real API would check it:
 * - every `tool_use` must be answered by `tool_result` blocks in the very next (user) message,
 *   and a `tool_result` must answer a `tool_use` of the message just before;
 * - a `thinking` block passed back must carry the signature the API issued for exactly that
 *   text (byte for byte), a `redacted_thinking` block the `data` it issued;
 * - with thinking enabled, the assistant turn that made the last tool calls must start with a
 *   thinking block; `budget_tokens` ≥ 1024 and below `max_tokens`; no forced tool choice.
 */

type Rec = Record<string, unknown>
const isRec = (v: unknown): v is Rec => typeof v === "object" && v !== null && !Array.isArray(v)

/** Signatures and redacted payloads the fake has issued (what it accepts back). */
export interface IssuedThinking {
  readonly signatures: Map<string, string>
  readonly redacted: Set<string>
}

const BLOCKS = [
  "text",
  "image",
  "document",
  "search_result",
  "thinking",
  "redacted_thinking",
  "tool_use",
  "tool_result",
  "server_tool_use",
  "web_search_tool_result"
]
const IMAGE_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp"]
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,128}$/
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

const quoted = (values: ReadonlyArray<string>) =>
  values.length === 1 ? `'${values[0]}'` : `${values.slice(0, -1).map((v) => `'${v}'`).join(", ")} or '${values.at(-1)}'`

const checkSource = (block: Rec, at: string): string | undefined => {
  const source = block.source
  if (!isRec(source)) return `${at}.source: Field required`
  const kind = block.type as string
  if (source.type === "url") return typeof source.url === "string" ? undefined : `${at}.source.url: Field required`
  if (source.type === "base64") {
    const types = kind === "image" ? IMAGE_TYPES : ["application/pdf"]
    if (!types.includes(String(source.media_type))) return `${at}.source.base64.media_type: Input should be ${quoted(types)}`
    if (typeof source.data !== "string" || !BASE64.test(source.data)) return `${at}.source.base64.data: Invalid base64 data`
    return undefined
  }
  if (kind === "document" && source.type === "text") return typeof source.data === "string" ? undefined : `${at}.source.text.data: Field required`
  if (kind === "document" && source.type === "content") return undefined
  const kinds = kind === "image" ? ["base64", "url", "file"] : ["base64", "text", "content", "url", "file"]
  return source.type === "file" ? undefined : `${at}.source: Input tag '${String(source.type)}' found using 'type' does not match any of the expected tags: ${quoted(kinds)}`
}

const checkTools = (body: Rec): string | undefined => {
  const tools = Array.isArray(body.tools) ? (body.tools as Array<unknown>) : []
  for (const [i, tool] of tools.entries()) {
    if (!isRec(tool)) return `tools.${i}: Input should be an object`
    // server tools (web_search_…, bash_…) carry a versioned `type` and no schema
    if (typeof tool.type === "string" && tool.type !== "custom") continue
    if (typeof tool.name !== "string" || !TOOL_NAME.test(tool.name)) return `tools.${i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'`
    if (!isRec(tool.input_schema)) return `tools.${i}.custom.input_schema: Field required`
  }
  const choice = body.tool_choice
  if (choice === undefined) return undefined
  if (!isRec(choice) || !["auto", "any", "tool", "none"].includes(String(choice.type))) {
    return `tool_choice: Input tag '${isRec(choice) ? String(choice.type) : String(choice)}' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'`
  }
  if (tools.length === 0 && choice.type !== "none" && choice.type !== "auto") return "tool_choice may only be specified while providing tools."
  if (choice.type === "tool") {
    if (typeof choice.name !== "string") return "tool_choice.tool.name: Field required"
    if (!tools.some((t) => isRec(t) && t.name === choice.name)) return `tool_choice.tool.name: Tool '${choice.name}' not found in tools`
  }
  return undefined
}

const thinkingEnabled = (body: Rec) => isRec(body.thinking) && body.thinking.type === "enabled"

const checkThinkingConfig = (body: Rec): string | undefined => {
  const thinking = body.thinking
  if (thinking === undefined) return undefined
  if (!isRec(thinking) || !["enabled", "disabled", "adaptive"].includes(String(thinking.type))) {
    return "thinking: Input tag found using 'type' does not match any of the expected tags: 'enabled', 'disabled', 'adaptive'"
  }
  if (thinking.type !== "enabled") return undefined
  const budget = thinking.budget_tokens
  if (typeof budget !== "number") return "thinking.enabled.budget_tokens: Field required"
  if (budget < 1024) return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
  if (typeof body.max_tokens === "number" && body.max_tokens <= budget) {
    return "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"
  }
  if (body.temperature !== undefined && body.temperature !== 1) return "`temperature` may only be set to 1 when thinking is enabled or in interleaved thinking mode."
  if (isRec(body.tool_choice) && (body.tool_choice.type === "any" || body.tool_choice.type === "tool")) {
    return "Thinking may not be enabled when tool_choice forces tool use."
  }
  return undefined
}

const blocksOf = (content: unknown): Array<Rec> =>
  typeof content === "string" ? [{ type: "text", text: content }] : Array.isArray(content) ? content.filter(isRec) : []

/** The first rule the request breaks, as the real 400's `error.message`; `undefined` when valid. */
export const checkMessagesRequest = (body: Rec, issued: IssuedThinking): string | undefined => {
  const config = checkTools(body) ?? checkThinkingConfig(body)
  if (config !== undefined) return config
  const messages = Array.isArray(body.messages) ? (body.messages as Array<unknown>) : []
  // tool_use ids of the previous message, which this one must answer
  let open: Array<string> = []
  let lastToolTurn = -1
  for (const [i, raw] of messages.entries()) {
    if (!isRec(raw)) return `messages.${i}: Input should be an object`
    const role = raw.role
    if (role !== "user" && role !== "assistant") return `messages.${i}.role: Input should be 'user' or 'assistant'`
    const blocks = blocksOf(raw.content)
    const answered = new Set<string>()
    for (const [j, block] of blocks.entries()) {
      const at = `messages.${i}.content.${j}`
      const type = String(block.type)
      if (!BLOCKS.includes(type)) return `${at}: Input tag '${type}' found using 'type' does not match any of the expected tags: ${quoted(BLOCKS)}`
      if (type === "image" || type === "document") {
        const bad = checkSource(block, `${at}.${type}`)
        if (bad !== undefined) return bad
      }
      if (type === "tool_result") {
        if (role !== "user") return `${at}: \`tool_result\` blocks can only be in \`user\` messages`
        const id = String(block.tool_use_id)
        if (!open.includes(id)) {
          return `${at}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`
        }
        answered.add(id)
      }
      if (type === "tool_use" && role !== "assistant") return `${at}: \`tool_use\` blocks can only be in \`assistant\` messages`
      if (type === "thinking" && issued.signatures.get(String(block.signature)) !== block.thinking) return `${at}: Invalid \`signature\` in \`thinking\` block`
      if (type === "redacted_thinking" && !issued.redacted.has(String(block.data))) return `${at}: Invalid \`data\` in \`redacted_thinking\` block`
    }
    const missing = open.filter((id) => !answered.has(id))
    if (missing.length > 0) {
      return `messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(", ")}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`
    }
    open = role === "assistant" ? blocks.filter((b) => b.type === "tool_use").map((b) => String(b.id)) : []
    if (open.length > 0) lastToolTurn = i
  }
  if (open.length > 0) {
    return `messages.${messages.length - 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${open.join(", ")}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`
  }
  // The tool loop in progress (last assistant turn with tool_use, answered by the final user turn).
  if (thinkingEnabled(body) && lastToolTurn >= 0 && lastToolTurn === messages.length - 2) {
    const first = blocksOf((messages[lastToolTurn] as Rec).content)[0]
    if (first?.type !== "thinking" && first?.type !== "redacted_thinking") {
      return (
        `messages.${lastToolTurn}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${String(first?.type)}\`. ` +
        "When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). " +
        "We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. " +
        "Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
      )
    }
  }
  return undefined
}
