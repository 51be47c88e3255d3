/** What the governance scenarios share: a gateway in this process, psql, a temp directory. */
import { execFileSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { GatewayConfigInput } from "@llm-gateway/core/config/LLMConfig"
import * as GatewayServer from "@llm-gateway/server/GatewayServer"
import { Cause, Context, Effect, Exit, Layer, Logger, Scope } from "effect"
import { HttpServer } from "effect/http"
import { layerFromConfig, loadGatewayConfig } from "llm-gateway/GatewayLayer"

export const tempDir = () => mkdtempSync(join(tmpdir(), "bench-governance-"))

/** Runs SQL through psql (the bench's own data set up, not the gateway's path). */
export const psql = (url: string, sql: string): string =>
  execFileSync("psql", [url, "-v", "ON_ERROR_STOP=1", "-tAc", sql], { encoding: "utf8", maxBuffer: 1 << 20 }).trim()

export interface InProcess {
  readonly url: string
  readonly lines: Array<string>
  readonly close: () => Promise<void>
}

/** The real server over the real gateway Layer, on 127.0.0.1:0; its log lines are kept. */
export const startInProcess = async (config: GatewayConfigInput): Promise<InProcess> => {
  const lines: Array<string> = []
  const capture = Logger.make(({ cause, message }) => {
    const text = (Array.isArray(message) ? message : [message]).map(String).join(" ")
    lines.push(cause.reasons.length > 0 ? `${text} ${Cause.pretty(cause).split("\n")[0]}` : text)
  })
  const resolved = await Effect.runPromise(loadGatewayConfig({ config, env: {} }))
  const layer = GatewayServer.layer({ host: "127.0.0.1", port: 0 }).pipe(
    Layer.provide(layerFromConfig(resolved)),
    Layer.provide(Logger.layer([capture]))
  )
  const scope = Scope.makeUnsafe()
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  const address = Context.get(context, HttpServer.HttpServer).address
  if (address._tag === "UnixPathAddress") throw new Error("expected a TCP address")
  return { url: `http://127.0.0.1:${address.port}`, lines, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}
