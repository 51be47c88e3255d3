/**
 * What OpenAI's chat completions endpoint refuses about tools, tool messages and content parts,
 * answered with its real 400 body (`{ error: { message, type, param, code } }`), so a gateway
 * that translates a malformed tool sequence is caught by the fake, not by production.
 *
 * The messages follow the texts the real API returns (typos included: "preceeding").
 */

export interface OpenAIRuleViolation {
  readonly message: string
  readonly param: string | null
  readonly code: string | null
}

type Rec = Record<string, unknown>
const isRec = (v: unknown): v is Rec => typeof v === "object" && v !== null && !Array.isArray(v)

const list = (values: ReadonlyArray<string>): string =>
  values.length === 1
    ? `'${values[0]}'`
    : `${values.slice(0, -1).map((v) => `'${v}'`).join(", ")}, and '${values.at(-1)}'`

const invalidValue = (value: unknown, supported: ReadonlyArray<string>, param: string): OpenAIRuleViolation => ({
  message: `Invalid value: '${String(value)}'. Supported values are: ${list(supported)}.`,
  param,
  code: "invalid_value"
})

const missing = (param: string): OpenAIRuleViolation => ({
  message: `Missing required parameter: '${param}'.`,
  param,
  code: "missing_required_parameter"
})

const USER_PARTS = ["text", "image_url", "input_audio", "refusal", "audio", "file"]
const ASSISTANT_PARTS = ["text", "refusal"]
const TEXT_ONLY = ["text"]
const REASONING_EFFORTS = ["none", "minimal", "low", "medium", "high", "xhigh", "max"]
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/
const IMAGE_URL = /^(https?:\/\/\S+|data:image\/(png|jpeg|jpg|gif|webp);base64,[A-Za-z0-9+/=]+)$/

const checkPart = (part: unknown, role: string, at: string): OpenAIRuleViolation | undefined => {
  if (!isRec(part)) return { message: `Invalid type for '${at}': expected an object.`, param: at, code: "invalid_type" }
  const allowed = role === "user" ? USER_PARTS : role === "assistant" ? ASSISTANT_PARTS : TEXT_ONLY
  if (typeof part.type !== "string" || !allowed.includes(part.type)) return invalidValue(part.type, allowed, `${at}.type`)
  switch (part.type) {
    case "text":
      return typeof part.text === "string" ? undefined : missing(`${at}.text`)
    case "image_url": {
      const image = part.image_url
      if (!isRec(image) || typeof image.url !== "string") return missing(`${at}.image_url.url`)
      if (!IMAGE_URL.test(image.url)) {
        return {
          message: `Invalid '${at}.image_url.url'. Expected a valid URL or a base64-encoded data URL with an image MIME type (e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU=').`,
          param: `${at}.image_url.url`,
          code: "invalid_value"
        }
      }
      if (image.detail !== undefined && !["auto", "low", "high"].includes(String(image.detail))) {
        return invalidValue(image.detail, ["auto", "low", "high"], `${at}.image_url.detail`)
      }
      return undefined
    }
    case "input_audio": {
      const audio = part.input_audio
      if (!isRec(audio) || typeof audio.data !== "string") return missing(`${at}.input_audio.data`)
      return audio.format === "wav" || audio.format === "mp3" ? undefined : invalidValue(audio.format, ["wav", "mp3"], `${at}.input_audio.format`)
    }
    case "file": {
      const file = part.file
      if (!isRec(file) || (typeof file.file_id !== "string" && typeof file.file_data !== "string")) {
        return { message: `Invalid '${at}.file': one of 'file_id' or 'file_data' must be provided.`, param: `${at}.file`, code: "invalid_value" }
      }
      return undefined
    }
    default:
      return undefined
  }
}

const checkTools = (body: Rec): OpenAIRuleViolation | undefined => {
  const tools = body.tools
  const hasTools = Array.isArray(tools) && tools.length > 0
  if (tools !== undefined && !Array.isArray(tools)) return { message: "Invalid type for 'tools': expected an array.", param: "tools", code: "invalid_type" }
  for (const [i, tool] of (hasTools ? (tools as Array<unknown>) : []).entries()) {
    if (!isRec(tool) || (tool.type !== "function" && tool.type !== "custom")) return invalidValue(isRec(tool) ? tool.type : tool, ["function", "custom"], `tools[${i}].type`)
    const fn = tool.type === "function" ? tool.function : tool.custom
    if (!isRec(fn) || typeof fn.name !== "string") return missing(`tools[${i}].${tool.type}.name`)
    if (!TOOL_NAME.test(fn.name)) {
      return {
        message: `Invalid 'tools[${i}].${tool.type}.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`,
        param: `tools[${i}].${tool.type}.name`,
        code: "invalid_value"
      }
    }
  }
  for (const key of ["tool_choice", "parallel_tool_calls"]) {
    if (body[key] !== undefined && body[key] !== null && !hasTools) {
      return { message: `Invalid value for '${key}': '${key}' is only allowed when 'tools' are specified.`, param: key, code: null }
    }
  }
  const choice = body.tool_choice
  if (typeof choice === "string" && !["none", "auto", "required"].includes(choice)) return invalidValue(choice, ["none", "auto", "required"], "tool_choice")
  const names = hasTools ? (tools as Array<Rec>).map((t) => (isRec(t.function) ? t.function.name : undefined)) : []
  if (isRec(choice) && choice.type === "allowed_tools") {
    const allowed = isRec(choice.allowed_tools) ? choice.allowed_tools : undefined
    if (allowed === undefined || !Array.isArray(allowed.tools)) return missing("tool_choice.allowed_tools.tools")
    if (allowed.mode !== "auto" && allowed.mode !== "required") return invalidValue(allowed.mode, ["auto", "required"], "tool_choice.allowed_tools.mode")
    for (const t of allowed.tools as Array<unknown>) {
      const name = isRec(t) && isRec(t.function) ? t.function.name : undefined
      if (typeof name !== "string") return missing("tool_choice.allowed_tools.tools.function.name")
      if (!names.includes(name)) {
        return { message: `Invalid value for 'tool_choice': function '${name}' is not one of the 'tools'.`, param: "tool_choice", code: "invalid_value" }
      }
    }
  } else if (isRec(choice)) {
    const name = isRec(choice.function) ? choice.function.name : undefined
    if (choice.type !== "function" || typeof name !== "string") return missing("tool_choice.function.name")
    if (!names.includes(name)) {
      return { message: `Invalid value for 'tool_choice': function '${name}' is not one of the 'tools'.`, param: "tool_choice", code: "invalid_value" }
    }
  }
  return undefined
}

const unanswered = (ids: ReadonlySet<string>, assistantIndex: number): OpenAIRuleViolation => ({
  message:
    `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. ` +
    `The following tool_call_ids did not have response messages: ${[...ids].join(", ")}`,
  param: `messages.[${assistantIndex}].role`,
  code: null
})

/** The first rule the request breaks, or `undefined` when OpenAI would take it. */
export const checkChatRequest = (body: Rec): OpenAIRuleViolation | undefined => {
  const toolsViolation = checkTools(body)
  if (toolsViolation !== undefined) return toolsViolation
  const effort = body.reasoning_effort
  if (effort !== undefined && effort !== null && !REASONING_EFFORTS.includes(String(effort))) {
    return invalidValue(effort, REASONING_EFFORTS, "reasoning_effort")
  }
  const messages = Array.isArray(body.messages) ? body.messages : []
  // ids of the latest assistant tool_calls still waiting for their `tool` messages
  let pending = new Set<string>()
  let assistantIndex = -1
  for (const [i, m] of messages.entries()) {
    if (!isRec(m)) continue
    const role = String(m.role)
    if (role === "tool") {
      if (typeof m.tool_call_id !== "string") return missing(`messages[${i}].tool_call_id`)
      if (!pending.has(m.tool_call_id)) {
        return {
          message: "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
          param: `messages.[${i}].role`,
          code: null
        }
      }
      pending.delete(m.tool_call_id)
    } else if (pending.size > 0) {
      return unanswered(pending, assistantIndex)
    }
    if (Array.isArray(m.content)) {
      for (const [j, part] of m.content.entries()) {
        const violation = checkPart(part, role, `messages[${i}].content[${j}]`)
        if (violation !== undefined) return violation
      }
    }
    if (role === "assistant" && Array.isArray(m.tool_calls) && m.tool_calls.length > 0) {
      pending = new Set()
      assistantIndex = i
      for (const [j, call] of m.tool_calls.entries()) {
        const at = `messages[${i}].tool_calls[${j}]`
        if (!isRec(call) || typeof call.id !== "string") return missing(`${at}.id`)
        if (!isRec(call.function) || typeof call.function.name !== "string") return missing(`${at}.function.name`)
        if (typeof call.function.arguments !== "string") return missing(`${at}.function.arguments`)
        pending.add(call.id)
      }
    }
  }
  return pending.size > 0 ? unanswered(pending, assistantIndex) : undefined
}
