/**
 * A caller's request as the manager accepts it: validated (Schema → `InvalidRequest` naming the
 * field, JSON depth bounded first) unless the caller already did (the HTTP server), and its task
 * resolved to a known name.
 */
import { Effect, Schema } from "effect"
import type { RoutingConfig } from "../../config/ConfigSchema.ts"
import { LLMRequest, requestMessages } from "../../domain/Domain.ts"
import { findTooDeep, tooDeepError } from "../../domain/JsonDepth.ts"
import { InvalidRequest } from "../../domain/LLMError.ts"
import { isPlainTextRequest } from "./plainRequest.ts"
import { makeTaskResolver } from "./tasks.ts"

/** Whose cache entries, usage and conversations a call touches when the caller names none. */
export const DEFAULT_SCOPE = "default"

const decodeRequest = Schema.decodeUnknownEffect(LLMRequest)

const withMessages = (req: LLMRequest): Effect.Effect<LLMRequest, InvalidRequest> =>
  requestMessages(req).length === 0
    ? Effect.fail(new InvalidRequest({ message: "a request needs `prompt` or non-empty `messages`", param: "messages" }))
    : Effect.succeed(req)

/** Validates a caller's request: a typed InvalidRequest naming the field, never a defect. */
export const validate = (req: LLMRequest): Effect.Effect<LLMRequest, InvalidRequest> => {
  // the common text request needs no decode (plainRequest.ts); it is shallow, so no depth check
  if (isPlainTextRequest(req)) return withMessages(req)
  // Caller JSON (responseFormat.schema, …) is walked recursively downstream: bound its depth first.
  const deep = findTooDeep(req)
  if (deep !== undefined) return Effect.fail(new InvalidRequest(tooDeepError(deep)))
  return decodeRequest(req).pipe(
    Effect.mapError((error) => new InvalidRequest({ message: error.message })),
    Effect.flatMap(withMessages)
  )
}

/** `accept(req, validated)`: the request to run; `resolveTask`: a task name as `chat` takes it. */
export const makeRequestCheck = (routing: Pick<RoutingConfig, "tasks" | "unknownTasks"> | undefined) => {
  // Without a config (a test composing the services by hand) only the built-in tasks are known.
  const resolveTask = makeTaskResolver(routing)
  /** The request with its task resolved: unknown names become `general` or fail. */
  const withKnownTask = (req: LLMRequest): Effect.Effect<LLMRequest, InvalidRequest> => {
    const task = resolveTask(req.taskType)
    if (task === req.taskType) return Effect.succeed(req)
    return typeof task === "object" ? Effect.fail(task) : Effect.succeed({ ...req, taskType: task })
  }
  const accept = (req: LLMRequest, validated: boolean | undefined): Effect.Effect<LLMRequest, InvalidRequest> =>
    validated === true ? withKnownTask(req) : Effect.flatMap(validate(req), withKnownTask)
  return { accept, resolveTask }
}
