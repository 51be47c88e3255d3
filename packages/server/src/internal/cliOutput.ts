/**
 * What the CLI prints: the waiting spinner, the one-line statistics after an answer, the model
 * table.
 */
import type { GatewayConfig } from "@llm-gateway/core/config/ConfigSchema"
import type { Usage } from "@llm-gateway/core/domain/Domain"
import type { ModelInfo } from "@llm-gateway/core/routing/ModelRouter"

const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]

/** A spinner on a terminal until `stop`; nothing at all when the stream is not a TTY. */
export class Spinner {
  private timer: ReturnType<typeof setInterval> | undefined
  private readonly stream: NodeJS.WriteStream
  private constructor(stream: NodeJS.WriteStream) {
    this.stream = stream
  }
  static start(stream: NodeJS.WriteStream): Spinner {
    const s = new Spinner(stream)
    if (stream.isTTY) {
      let i = 0
      s.timer = setInterval(() => stream.write(`\r${frames[i++ % frames.length]} thinking…`), 80)
      s.timer.unref()
    }
    return s
  }
  stop(): void {
    if (this.timer === undefined) return
    clearInterval(this.timer)
    this.timer = undefined
    this.stream.write("\r\x1b[2K")
  }
}

const usd = (n: number) => (n === 0 ? "$0" : n < 0.01 ? `$${n.toFixed(6)}` : `$${n.toFixed(4)}`)

export const formatStats = (r: {
  readonly provider: string
  readonly model: string
  readonly usage: Usage | undefined
  readonly costUsd: number
  readonly cached: boolean
  readonly latencyMs: number
}): string => {
  const tokens = r.usage === undefined
    ? "tokens unknown"
    : `${r.usage.totalTokens} tokens (${r.usage.promptTokens} prompt + ${r.usage.completionTokens} completion)`
  return `— ${r.provider}/${r.model} · ${tokens} · ${usd(r.costUsd)}${r.cached ? " · cached" : ""} · ${Math.round(r.latencyMs)} ms\n`
}

const pad = (s: string, n: number) => (s.length >= n ? `${s} ` : s + " ".repeat(n - s.length))

/**
 * The order `model: auto` tries per task (the router's plan for a short prompt: task list, then
 * fallbackOrder, ordered by the strategy), so a user sees where a request goes before sending it.
 */
export const formatRoutes = (
  routes: ReadonlyArray<{ readonly task: string; readonly order: ReadonlyArray<string> | string }>,
  strategy: string
): string => {
  if (routes.length === 0) return ""
  const width = Math.max(4, ...routes.map((r) => r.task.length)) + 2
  const rows = [`\nROUTES for model "auto" (strategy ${strategy}; a short prompt, all circuits closed)`, pad("TASK", width) + "ORDER"]
  for (const r of routes) rows.push(pad(r.task, width) + (typeof r.order === "string" ? r.order : r.order.join(" → ")))
  return rows.join("\n") + "\n"
}

export const formatModels = (models: ReadonlyArray<ModelInfo>, config: GatewayConfig): string => {
  if (models.length === 0) return "no models configured (set OPENAI_API_KEY, OLLAMA_BASE_URL, … or use --config FILE)\n"
  const prices = new Map<string, string>()
  for (const p of config.providers) {
    for (const m of p.models) {
      if (m.inputCostPer1M !== undefined || m.outputCostPer1M !== undefined) {
        prices.set(`${p.name}/${m.id}`, `$${m.inputCostPer1M ?? 0} / $${m.outputCostPer1M ?? 0}`)
      }
    }
  }
  const width = Math.max(5, ...models.map((m) => m.ref.length)) + 2
  const rows = [pad("MODEL", width) + pad("TYPE", 19) + pad("CONTEXT", 9) + pad("KIND", 11) + "PRICE in/out per 1M"]
  for (const m of models) {
    rows.push(
      pad(m.ref, width) + pad(m.type, 19) + pad(m.contextWindow === undefined ? "-" : String(m.contextWindow), 9) +
        pad(m.embedding ? "embedding" : "chat", 11) + (prices.get(m.ref) ?? "-")
    )
  }
  return rows.join("\n") + "\n"
}

const addProviders = "add providers with OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, OLLAMA_BASE_URL, … " +
  "or a config file (--config FILE / LLM_GATEWAY_CONFIG); LLM_LOCAL_MODEL_PATH=<file.gguf> serves your own GGUF"

/**
 * A line for the banner when the gateway runs on the embedded default model, or on nothing at
 * all: what it is serving and how to add real providers. Empty when providers are configured.
 */
export const formatProviderNotice = (config: GatewayConfig, embeddedDefault: boolean): string => {
  if (embeddedDefault) {
    const m = config.providers[0]
    return `no provider configured: serving the embedded tiny model ${m.name}/${m.models[0]?.id ?? "?"} ` +
      `(models/stories260K.gguf, offline; it only tells children's stories) as model "auto".\n` +
      `  To use real models, ${addProviders}. LLM_EMBEDDED_DEFAULT=false turns the embedded model off.\n`
  }
  if (config.providers.length === 0) {
    return `no provider configured: chat requests answer 503 model_unavailable until you ${addProviders}.\n`
  }
  return ""
}
