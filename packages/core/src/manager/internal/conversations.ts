/**
 * `chat` and the conversations it keeps, per caller scope. A turn is planned once: on the system
 * prompt and the new turn (the full history may not fit any window yet), the history is trimmed
 * to that plan's first window, and the same plan, fitted to the trimmed prompt, runs.
 */
import { Effect } from "effect"
import { estimatePromptTokens } from "../../accounting/Pricing.ts"
import { windowTokenEstimator } from "../../accounting/TokenEstimator.ts"
import type { ConversationStorage } from "../../conversations/ConversationStorage.ts"
import type { ChatMessage, LLMRequest, LLMResponse } from "../../domain/Domain.ts"
import { InvalidRequest, type LLMError } from "../../domain/LLMError.ts"
import { fitPlan, type ModelRouterShape, type RoutePlan } from "../../routing/ModelRouter.ts"
import type { CallContext, ChatOptions } from "../CallContext.ts"
import { DEFAULT_SCOPE } from "./requests.ts"

export interface ConversationDeps {
  readonly router: ModelRouterShape
  readonly storage: ConversationStorage["Service"]
  readonly resolveTask: (name: string | undefined) => string | undefined | InvalidRequest
  /** Answers and accounts a validated request (cache off) on the plan it is given. */
  readonly generate: (req: LLMRequest, scope: string, plan?: RoutePlan) => Effect.Effect<LLMResponse, LLMError>
}

/** A conversation stored as given: its id, every message, and metadata the caller reads back. */
export interface SavedConversation {
  readonly id: string
  readonly messages: ReadonlyArray<ChatMessage>
  readonly metadata?: Readonly<Record<string, string>> | undefined
}

/** Tokens kept free for the answer when the caller sets no `maxTokens`. */
const DEFAULT_RESERVE = 1024

export const makeConversations = ({ generate, resolveTask, router, storage }: ConversationDeps) => {
  /** The history trimmed to the plan's first window, and the plan fitted to what is sent. */
  const fitted = Effect.fnUntraced(function*(messages: ReadonlyArray<ChatMessage>, plan: RoutePlan, reserve: number) {
    const window = plan.candidates[0]?.contextWindow
    let sent = messages
    if (window !== undefined) {
      // `windowTokenEstimator`'s count is never below the router's own estimate, so a trimmed
      // history passes the router's window check as well as the upstream's tokenizer.
      const tokens = yield* windowTokenEstimator
      const budget = Math.max(window - reserve, 1)
      if (tokens.countMessages(messages) > budget) sent = tokens.trimToBudget(messages, budget)
    }
    const fit = fitPlan(plan, estimatePromptTokens(sent))
    // nothing left that fits (a window below the reserve): the router plans and says why
    return { messages: sent, plan: fit.candidates.length > 0 ? fit : undefined }
  })

  const chat = Effect.fn("LLMManager.chat")(function*(conversationId: string, message: string | ChatMessage, options?: ChatOptions) {
    const turn: ChatMessage = typeof message === "string" ? { role: "user", content: message } : message
    const scope = options?.scope ?? DEFAULT_SCOPE
    const taskType = resolveTask(options?.taskType)
    if (typeof taskType === "object") return yield* taskType
    // Create-if-missing is race-free: a concurrent creator makes ours fail with AlreadyExists.
    yield* storage.create({
      id: conversationId,
      scope,
      messages: options?.system !== undefined ? [{ role: "system", content: options.system }] : []
    }).pipe(Effect.catchTag("ConversationAlreadyExists", () => Effect.void))
    const history = (yield* storage.get(conversationId, { scope })).messages
    const base: LLMRequest = {
      messages: [...history, turn],
      taskType,
      model: options?.model,
      preferences: options?.preferences,
      conversationId,
      cache: false
    }
    const planned = yield* router.plan({ ...base, messages: [...history.filter((m) => m.role === "system"), turn] })
    const { messages, plan } = yield* fitted(base.messages!, planned, options?.preferences?.maxTokens ?? DEFAULT_RESERVE)
    const response = yield* generate({ ...base, messages }, scope, plan)
    yield* storage.append(conversationId, [turn, { role: "assistant", content: response.content }], { scope })
    return { ...response, conversationId }
  }, (effect) => Effect.catchTag(effect, "ConversationNotFound", (e) => Effect.fail(new InvalidRequest({ message: e.message }))))

  // The conversations `chat` keeps, seen through the caller's scope: another tenant's id is
  // reported as not found, exactly like one that never existed.
  const getConversation = (conversationId: string, ctx?: CallContext) =>
    storage.get(conversationId, { scope: ctx?.scope ?? DEFAULT_SCOPE })
  const deleteConversation = (conversationId: string, ctx?: CallContext) =>
    storage.delete(conversationId, { scope: ctx?.scope ?? DEFAULT_SCOPE })
  // a conversation whose turns were answered elsewhere (the server's stored Responses), kept whole
  const saveConversation = (conversation: SavedConversation, ctx?: CallContext) =>
    storage.create({ ...conversation, scope: ctx?.scope ?? DEFAULT_SCOPE })

  return { chat, getConversation, deleteConversation, saveConversation }
}
