/**
 * Stored Responses (`store`, the default): each is a conversation in the gateway's conversation
 * store (memory, SQLite or Postgres, through the manager), under the caller's tenant scope, named
 * by the response id. Its messages are the whole thread up to and including this answer (the
 * `previous_response_id` chain already resolved, instructions left out as OpenAI does), so a
 * follow-up on any instance sharing the store continues it; its metadata holds the Response
 * object that `GET /v1/responses/{id}` returns.
 */
import type { ChatMessage } from "@llm-gateway/core/domain/Domain"
import { Effect } from "effect"
import type { ServerContext } from "./context.ts"
import { readItems } from "./responsesItems.ts"
import type { OutputItem } from "./responsesWire.ts"
import { Reader } from "./validate.ts"

/** Marks a conversation as a stored Response (other conversations are not answered as one). */
const KIND = "openai.response"

export interface StoredResponse {
  /** The Response object as answered. */
  readonly response: string
  /** The thread: every message up to and including this answer. */
  readonly thread: ReadonlyArray<ChatMessage>
}

/** The answer's output items as the thread's assistant (and tool) messages. */
export const outputMessages = (items: ReadonlyArray<OutputItem>): ReadonlyArray<ChatMessage> => {
  const r = new Reader()
  const messages = readItems(items, "output", { r, names: new Map(), ignored: [] })
  // the gateway wrote these items itself: a failure to read them back is a bug, not the caller's
  if (r.failed) throw new Error(`stored output does not read back: ${r.error().message}`)
  return messages
}

export const saveResponse = (ctx: ServerContext, scope: string, id: string, thread: ReadonlyArray<ChatMessage>, response: object) =>
  ctx.manager.saveConversation({ id, messages: thread, metadata: { kind: KIND, response: JSON.stringify(response) } }, { scope }).pipe(
    // ids are fresh per response: one already taken is a defect
    Effect.orDie,
    Effect.asVoid
  )

/** The stored Response `id` of this scope, or `undefined` (another tenant's reads as absent). */
export const loadResponse = (ctx: ServerContext, scope: string, id: string): Effect.Effect<StoredResponse | undefined> =>
  ctx.manager.getConversation(id, { scope }).pipe(
    Effect.map((c) =>
      c.metadata?.kind === KIND && c.metadata.response !== undefined ? { response: c.metadata.response, thread: c.messages } : undefined
    ),
    Effect.catchTag("ConversationNotFound", () => Effect.succeed(undefined))
  )

/** Forgets a stored Response; `false` when there was none in this scope. */
export const deleteResponse = (ctx: ServerContext, scope: string, id: string): Effect.Effect<boolean> =>
  Effect.flatMap(loadResponse(ctx, scope, id), (found) =>
    found === undefined
      ? Effect.succeed(false)
      : ctx.manager.deleteConversation(id, { scope }).pipe(
        Effect.as(true),
        Effect.catchTag("ConversationNotFound", () => Effect.succeed(false))
      ))
