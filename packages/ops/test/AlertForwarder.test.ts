import { describe, expect, it } from "@effect/vitest"
import { GatewayDatabase, type GatewayDatabaseOptions } from "@llm-gateway/storage/GatewayDatabase"
import { Context, Effect, Exit, Layer, Metric, Schema, Scope } from "effect"
import { readFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { WebhookPayload } from "../src/Alert.ts"
import { AlertClassifier } from "../src/AlertClassifier.ts"
import { AlertForwarder } from "../src/AlertForwarder.ts"
import { AlertOutbox } from "../src/AlertOutbox.ts"
import { EnrichmentMode } from "../src/EnrichmentMode.ts"
import * as OpsMetrics from "../src/OpsMetrics.ts"
import { stores } from "./stores.ts"

interface Received {
  readonly alerts: ReadonlyArray<{ fingerprint: string; status: string; labels: Record<string, unknown> }>
}

/** A downstream webhook that can be down (503) or up (records every payload). */
const startDownstream = async () => {
  const received: Array<Received> = []
  let up = false
  const server = createServer((req, res) => {
    // up or down when the request arrives (a request a down server accepted means nothing)
    const accepting = up
    let body = ""
    req.on("data", (c) => (body += c))
    req.on("end", () => {
      if (!accepting) {
        res.writeHead(503).end()
        return
      }
      received.push(JSON.parse(body) as Received)
      res.writeHead(200).end("{}")
    })
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    alerts: () => received.flatMap((p) => p.alerts),
    setUp: (v: boolean) => void (up = v),
    close: () => new Promise<void>((r) => server.close(() => r()))
  }
}

const raw = JSON.parse(readFileSync(new URL("./fixtures/alertmanager-webhook.json", import.meta.url), "utf8")) as Record<string, unknown>
const payload = Schema.decodeUnknownSync(WebhookPayload)(raw)

/** Waits (real time, bounded) until `check` holds. */
const until = (what: string, check: () => boolean | Promise<boolean>, ms = 5000) =>
  Effect.promise(async () => {
    const end = Date.now() + ms
    while (!(await check())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  })

/** One gateway instance's forwarder on the shared store (a restart is a new instance). */
const instance = (url: string, db: GatewayDatabaseOptions) => {
  const outbox = AlertOutbox.layer.pipe(Layer.provide(GatewayDatabase.layer(db)))
  return Layer.mergeAll(
    AlertForwarder.layer({ downstream: { url, headers: { "x-test": "1" } }, workers: 1, pollMs: 50, retryBaseMs: 5, sendAttempts: 2 }).pipe(
      Layer.provide(Layer.mergeAll(AlertClassifier.layerRules, EnrichmentMode.layerMemory("enriched"), outbox))
    ),
    outbox
  )
}

const start = (url: string, db: GatewayDatabaseOptions) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const ctx = yield* Layer.buildWithScope(instance(url, db), scope)
    return { forwarder: Context.get(ctx, AlertForwarder), outbox: Context.get(ctx, AlertOutbox), stop: Scope.close(scope, Exit.void) }
  })

describe.each(stores)("AlertForwarder on %s", (_, store) => {
  it.live("downstream down for a while, gateway restarted meanwhile: every alert delivered once, enriched", () =>
    Effect.gen(function*() {
      const downstream = yield* Effect.promise(startDownstream)
      const db = (yield* store).options

      const a = yield* start(downstream.url, db)
      expect(yield* a.forwarder.submit(raw, payload)).toBe(true)
      // Alertmanager re-sends the group (repeat_interval): same alerts, same status
      expect(yield* a.forwarder.submit(raw, payload)).toBe(true)
      yield* until("both alerts in the outbox", () => Effect.runPromise(Effect.map(a.outbox.depth, (n) => n === 2)))
      yield* until("the re-send processed", () => Effect.runPromise(Effect.map(a.forwarder.backlog, (n) => n === 0)))
      expect(yield* a.outbox.depth).toBe(2)
      yield* a.stop // the gateway restarts while the downstream is still down

      downstream.setUp(true)
      const b = yield* start(downstream.url, db)
      yield* until("delivery after the restart", () => downstream.alerts().length >= 2)
      yield* until("the outbox emptied", () => Effect.runPromise(Effect.map(b.outbox.depth, (n) => n === 0)))

      // the same group again, then a resolved notification: only the new status goes out
      yield* b.forwarder.submit(raw, payload)
      const resolved = { ...raw, status: "resolved", alerts: (raw.alerts as Array<Record<string, unknown>>).map((x) => ({ ...x, status: "resolved" })) }
      yield* b.forwarder.submit(resolved, Schema.decodeUnknownSync(WebhookPayload)(resolved))
      yield* until("the resolved alerts", () => downstream.alerts().length >= 4)
      yield* until("nothing pending", () => Effect.runPromise(Effect.map(b.forwarder.backlog, (n) => n === 0)))

      const seen = downstream.alerts().map((x) => `${x.fingerprint}:${x.status}`)
      expect(seen.sort()).toEqual([
        "5c1ab4d6e1b2f3a0:firing",
        "5c1ab4d6e1b2f3a0:resolved",
        "9e07f2c3aa41d8b5:firing",
        "9e07f2c3aa41d8b5:resolved"
      ])
      const first = downstream.received[0]
      expect(first.alerts[0].labels).toMatchObject({ ai_severity: "warning", ai_category: "kubernetes", alertname: "KubePodCrashLooping" })
      for (const alert of downstream.alerts()) {
        for (const v of Object.values(alert.labels)) expect(typeof v).toBe("string")
      }
      yield* b.stop
      yield* Effect.promise(downstream.close)
    }).pipe(Effect.scoped), 15_000)

  it.live("llm_alert_outbox_depth follows rows another instance on the store delivered", () =>
    Effect.gen(function*() {
      const downstream = yield* Effect.promise(startDownstream)
      const db = (yield* store).options
      const a = yield* start(downstream.url, db)
      yield* a.forwarder.submit(raw, payload)
      const depth = Metric.value(OpsMetrics.outboxDepth)
      yield* until("both alerts counted", () => Effect.runPromise(Effect.map(depth, (g) => g.value === 2)))
      // a peer instance (its own outbox on the same store) sends them while this one's downstream is down
      const peer = yield* Layer.build(AlertOutbox.layer.pipe(Layer.provide(GatewayDatabase.layer(db))))
      const outbox = Context.get(peer, AlertOutbox)
      yield* until("the peer claimed them", () =>
        Effect.runPromise(Effect.flatMap(outbox.claim(10, 60_000), (rows) => Effect.as(outbox.delivered(rows.map((r) => r.id)), rows.length > 0))))
      yield* until("the gauge back to 0", () => Effect.runPromise(Effect.map(depth, (g) => g.value === 0)))
      yield* a.stop
      yield* Effect.promise(downstream.close)
    }).pipe(Effect.scoped), 15_000)
})
