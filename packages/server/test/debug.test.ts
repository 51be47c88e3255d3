import { it } from "vitest"
import { configFor, startFakes } from "./support/harness.ts"
import { loadGatewayConfig } from "llm-gateway/GatewayLayer"
import { Effect } from "effect"

it("debug", async () => {
  const fakes = await startFakes()
  const resolved = await Effect.runPromise(loadGatewayConfig({ config: configFor(fakes), env: {} }))
  console.log(JSON.stringify(resolved.providers.map(p => [p.name, p.type, p.models.map(m => m.id)])), JSON.stringify(resolved.routing))
  await fakes.close()
})
