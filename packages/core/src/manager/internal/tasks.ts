/**
 * Task names as the gateway keeps them. `taskType` comes from callers (`x-llm-task`, a seed
 * body's `task_type`), and the task is a dimension of usage rows, cache keys and the semantic
 * index: a raw name there lets any caller grow the process's memory without bound
 * (notes/benchmarks.md "Figures quoted in source comments"). Only built-in and configured names survive; any other one is
 * `general` or refused, as `routing.unknownTasks` says.
 */
import type { RoutingConfig } from "../../config/ConfigSchema.ts"
import { BuiltinTaskTypes } from "../../domain/Domain.ts"
import { InvalidRequest } from "../../domain/LLMError.ts"

export const DEFAULT_TASK = "general"

/** What an error message may quote of a caller's value. */
const quoted = (name: string) => JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name)

/**
 * `resolve(name)`: the name to route and account under (undefined stays undefined: the
 * default task), or the `InvalidRequest` to answer when unknown names are refused.
 */
export const makeTaskResolver = (routing: Pick<RoutingConfig, "tasks" | "unknownTasks"> | undefined) => {
  const known = new Set<string>([...BuiltinTaskTypes, ...Object.keys(routing?.tasks ?? {})])
  const reject = routing?.unknownTasks === "reject"
  return (name: string | undefined): string | undefined | InvalidRequest => {
    if (name === undefined || known.has(name)) return name
    if (!reject) return DEFAULT_TASK
    return new InvalidRequest({
      message: `unknown task ${quoted(name)}: use a built-in task (${BuiltinTaskTypes.join(", ")}) or one in routing.tasks`,
      param: "taskType"
    })
  }
}
