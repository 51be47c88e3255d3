/**
 * Base URLs as each SDK wants them. Env variables carry whatever users copy from docs: a
 * `…/v1` base, a full `…/chat/completions` endpoint (seed 002), or a bare `host:port` (seed 004's
 * `VLLM_BASE_URL=http://localhost:8000`). The OpenAI SDK appends `/chat/completions` to a `/v1`
 * base, the Anthropic SDK appends `/v1/messages` to the host, the Ollama SDK `/api/chat`.
 */
import type { ProviderType } from "../ConfigSchema.ts"

const stripOne = (url: string, suffixes: ReadonlyArray<string>): string => {
  const lower = url.toLowerCase()
  for (const suffix of suffixes) {
    if (lower.endsWith(suffix)) return url.slice(0, -suffix.length)
  }
  return url
}

const pathOf = (url: string): string | undefined => {
  try {
    return new URL(url).pathname
  } catch {
    return undefined
  }
}

const openaiEndpoints = ["/chat/completions", "/completions", "/embeddings", "/responses", "/models"]

export const normalizeBaseUrl = (input: string, type: ProviderType): string => {
  let url = input.trim().replace(/\/+$/, "")
  // `localhost:11434` would parse as a URL with scheme "localhost:"
  if (type !== "llamacpp" && !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) url = `http://${url}`
  switch (type) {
    case "anthropic":
      url = stripOne(url, ["/v1/messages", "/messages"])
      return stripOne(url, ["/v1"])
    case "ollama":
      url = stripOne(url, ["/api/chat", "/api/generate", "/api/embed", "/api/tags", ...openaiEndpoints])
      return stripOne(url, ["/api", "/v1"])
    case "llamacpp":
      return url
    default: {
      url = stripOne(url, openaiEndpoints)
      // vLLM and LM Studio serve the OpenAI API under /v1; a bare host:port means that.
      const path = pathOf(url)
      if ((type === "vllm" || type === "lmstudio") && (path === "/" || path === "")) return `${url}/v1`
      return url
    }
  }
}
