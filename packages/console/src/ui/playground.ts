/**
 * Playground: `auto` + task + strategy, or a named model; system prompt, a conversation,
 * temperature and max tokens. The answer streams token by token from `/v1/chat/completions`;
 * then the "Attempts" panel shows what routing did — each attempt (model, outcome, ms, skipped
 * candidates and why), cache, tokens, cost and overhead — from the `x-llm-*` headers and the
 * usage chunk (`x-llm-route: include` asks for the per-attempt list and `usage.cost_usd`).
 * Stop aborts the fetch; the gateway then aborts the upstream request.
 */
import { ApiError, authHeader, failure, getJson, onUnauthorized, session, unauthorizedMessage } from "./api.ts"
import { field, fmt, h, replace } from "./dom.ts"

const TASKS = ["general", "analysis", "ui-generation", "config-management", "sql", "alert-classification"]

interface Message {
  readonly role: "user" | "assistant"
  readonly content: string
}

interface RouteFacts {
  provider: string | null
  model: string | null
  cache: string | null
  attempts: string | null
  overheadMs: string | null
  route: Array<{ model: string; outcome: string; ms: number }>
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number; cost_usd?: number } | null
  finish: string | null
  firstTokenMs: number | null
  totalMs: number | null
}

/** `model;outcome;ms, …` from the `x-llm-route` header. */
export const parseRoute = (header: string | null) =>
  (header ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "").map((s) => {
    const [model, outcome, ms] = s.split(";")
    return { model, outcome, ms: Number(ms) }
  })

export const mountPlayground = (root: HTMLElement): (() => void) => {
  const history: Array<Message> = []
  let controller: AbortController | undefined

  const model = h("select", { name: "model" }, h("option", { value: "auto" }, "auto (route by task)"))
  const task = h("select", { name: "task" }, TASKS.map((t) => h("option", { value: t }, t)))
  const strategy = h(
    "select",
    { name: "strategy" },
    h("option", { value: "" }, "configured default"),
    ["cost", "performance", "balanced"].map((s) => h("option", { value: s }, s))
  )
  const system = h("textarea", { name: "system", rows: 2, placeholder: "You are a helpful assistant." })
  const prompt = h("textarea", { name: "prompt", rows: 3, required: true, placeholder: "Once upon a time" })
  const temperature = h("input", { name: "temperature", type: "number", min: 0, max: 2, step: 0.1, inputmode: "decimal" })
  const maxTokens = h("input", { name: "max_tokens", type: "number", min: 1, step: 1, value: 64, inputmode: "numeric" })
  const noCache = h("input", { name: "no_cache", type: "checkbox" })
  const send = h("button", { type: "submit", class: "primary" }, "Send")
  const stop = h("button", { type: "button", disabled: true }, "Stop")
  const clear = h("button", { type: "button" }, "New conversation")
  const transcript = h("div", { class: "transcript", "aria-label": "Conversation" })
  const answer = h("div", { class: "answer", id: "answer", "aria-live": "polite", "aria-busy": "false" })
  const state = h("p", { class: "muted", id: "play-state", role: "status" })
  const attempts = h("section", { class: "panel", id: "attempts", "aria-labelledby": "attempts-title" })

  const syncAuto = () => {
    const auto = model.value === "auto"
    task.disabled = !auto
    strategy.disabled = !auto
  }
  model.addEventListener("change", syncAuto)

  const form = h(
    "form",
    { class: "play-form", "aria-label": "Prompt" },
    h("div", { class: "row" }, field("Model", model), field("Task type", task), field("Strategy", strategy)),
    field("System prompt", system),
    field("Message", prompt, "Ctrl+Enter sends."),
    h(
      "div",
      { class: "row" },
      field("Temperature", temperature),
      field("Max tokens", maxTokens),
      h("div", { class: "field check" }, noCache, h("label", { for: (noCache.id = "no-cache") }, "Bypass the cache"))
    ),
    h("div", { class: "actions" }, send, stop, clear)
  )
  replace(
    root,
    h("h1", {}, "Playground"),
    h("div", { class: "play" }, form, h("div", { class: "out" }, h("h2", {}, "Answer"), transcript, answer, state, attempts))
  )
  renderAttempts(attempts, undefined)

  void getJson<{ data: Array<{ id: string; embedding?: boolean }> }>("/v1/models").then((list) => {
    for (const m of list.data) if (m.embedding !== true) model.append(h("option", { value: m.id }, m.id))
  }, () => {})

  prompt.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) form.requestSubmit()
  })
  clear.addEventListener("click", () => {
    history.length = 0
    transcript.replaceChildren()
    answer.textContent = ""
    state.textContent = ""
    renderAttempts(attempts, undefined)
  })
  stop.addEventListener("click", () => controller?.abort())

  form.addEventListener("submit", async (e) => {
    e.preventDefault()
    const text = prompt.value.trim()
    if (text === "" || controller !== undefined) return
    const messages: Array<{ role: string; content: string }> = []
    if (system.value.trim() !== "") messages.push({ role: "system", content: system.value.trim() })
    messages.push(...history, { role: "user", content: text })
    const body: Record<string, unknown> = {
      model: model.value,
      messages,
      stream: true,
      stream_options: { include_usage: true }
    }
    if (temperature.value !== "") body.temperature = Number(temperature.value)
    if (maxTokens.value !== "") body.max_tokens = Number(maxTokens.value)
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "x-llm-route": "include",
      ...authHeader(session.key())
    }
    if (model.value === "auto") {
      headers["x-llm-task"] = task.value
      if (strategy.value !== "") headers["x-llm-strategy"] = strategy.value
    }
    if (noCache.checked) headers["x-llm-cache"] = "no-cache"

    controller = new AbortController()
    send.disabled = true
    stop.disabled = false
    answer.textContent = ""
    answer.setAttribute("aria-busy", "true")
    state.textContent = "Waiting for the first token…"
    transcript.append(h("p", { class: "msg user" }, h("b", {}, "You: "), text))
    const started = performance.now()
    const facts: RouteFacts = {
      provider: null, model: null, cache: null, attempts: null, overheadMs: null, route: [],
      usage: null, finish: null, firstTokenMs: null, totalMs: null
    }
    let content = ""
    try {
      const res = await fetch("/v1/chat/completions", {
        method: "POST", headers, body: JSON.stringify(body), signal: controller.signal, credentials: "omit", cache: "no-store"
      })
      if (!res.ok) {
        const err = await failure(res)
        if (err.status === 401) onUnauthorized(unauthorizedMessage(session.key()))
        throw err
      }
      facts.provider = res.headers.get("x-llm-provider")
      facts.model = res.headers.get("x-llm-model")
      facts.cache = res.headers.get("x-llm-cache")
      facts.attempts = res.headers.get("x-llm-attempts")
      facts.overheadMs = res.headers.get("x-llm-overhead-ms")
      facts.route = parseRoute(res.headers.get("x-llm-route"))
      state.textContent = `Streaming from ${facts.provider}/${facts.model}…`
      for await (const event of sse(res.body!)) {
        if (event === "[DONE]") break
        const chunk = JSON.parse(event) as {
          error?: { message: string; code?: string }
          choices?: Array<{ delta?: { content?: string }; finish_reason?: string | null }>
          usage?: RouteFacts["usage"]
        }
        if (chunk.error !== undefined) throw new ApiError(0, chunk.error.code ?? "stream_error", chunk.error.message)
        const delta = chunk.choices?.[0]?.delta?.content
        if (delta !== undefined && delta !== "") {
          if (facts.firstTokenMs === null) facts.firstTokenMs = performance.now() - started
          content += delta
          answer.textContent = content
        }
        const finish = chunk.choices?.[0]?.finish_reason
        if (finish !== undefined && finish !== null) facts.finish = finish
        if (chunk.usage !== undefined && chunk.usage !== null) facts.usage = chunk.usage
      }
      facts.totalMs = performance.now() - started
      state.textContent = `Done (${facts.finish ?? "stop"}).`
      history.push({ role: "user", content: text }, { role: "assistant", content })
      transcript.append(h("p", { class: "msg assistant" }, h("b", {}, "Assistant: "), content))
      answer.textContent = ""
      prompt.value = ""
    } catch (err) {
      facts.totalMs = performance.now() - started
      if (controller.signal.aborted) {
        state.textContent = "Stopped: the request was cancelled."
      } else {
        state.textContent = ""
        answer.append(h("p", { class: "error", role: "alert" }, `Failed: ${(err as Error).message}`))
      }
    } finally {
      controller = undefined
      send.disabled = false
      stop.disabled = true
      answer.setAttribute("aria-busy", "false")
      renderAttempts(attempts, facts.provider === null ? undefined : facts)
    }
  })
  return () => controller?.abort()
}

/** The events' `data:` payloads of an SSE body. */
async function* sse(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ""
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return
    buffer += decoder.decode(value, { stream: true })
    let end: number
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const data = event.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n")
      if (data !== "") yield data
    }
  }
}

const renderAttempts = (root: HTMLElement, f: RouteFacts | undefined) => {
  const title = h("h2", { id: "attempts-title" }, "Attempts")
  if (f === undefined) return replace(root, title, h("p", { class: "muted" }, "Send a prompt to see the route it took."))
  const rows = f.route.length > 0
    ? f.route
    : [{ model: `${f.provider}/${f.model}`, outcome: f.cache === "hit" ? "cache hit" : "ok", ms: NaN }]
  const usage = f.usage
  replace(
    root,
    title,
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, ["#", "Model", "Outcome", "Time"].map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        {},
        rows.map((a, i) =>
          h(
            "tr",
            { class: a.outcome === "ok" ? "ok" : a.outcome.startsWith("skipped:") ? "skipped" : "failed" },
            h("td", {}, i + 1),
            h("td", {}, a.model),
            h("td", {}, a.outcome.startsWith("skipped:") ? `skipped (${a.outcome.slice(8)})` : a.outcome),
            h("td", { class: "num" }, fmt.ms(a.ms))
          )
        )
      )
    ),
    h(
      "dl",
      { class: "facts" },
      fact("Answered by", `${f.provider}/${f.model}`),
      fact("Cache", f.cache ?? "–"),
      fact("Upstream calls", f.attempts ?? "–"),
      fact("Tokens", usage === null ? "–" : `${usage.prompt_tokens} prompt + ${usage.completion_tokens} completion = ${usage.total_tokens}`),
      fact("Cost", usage?.cost_usd === undefined ? "Cost –" : `Cost ${fmt.usd(usage.cost_usd)}`),
      fact("Overhead", f.overheadMs === null ? "–" : `${f.overheadMs} ms`),
      fact("First token", fmt.ms(f.firstTokenMs)),
      fact("Total", fmt.ms(f.totalMs))
    )
  )
}

const fact = (k: string, v: string) => [h("dt", {}, k), h("dd", {}, v)]
