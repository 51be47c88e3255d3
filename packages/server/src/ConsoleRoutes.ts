/**
 * The web console at `/ui` (off with `server.ui: false`): the prebuilt bundle of
 * `@llm-gateway/console` (`dist-ui/`: index.html with its stylesheet inlined, app.js), read once at start-up and
 * served from memory, gzipped when the browser accepts it. The page and its assets need no key —
 * they hold no secret; the API calls the page makes carry the key the user types.
 *
 * The Content-Security-Policy allows scripts and requests to this origin only and the page's own
 * inline stylesheet by its hash (inlined: a stylesheet link would block the first paint for one
 * more round trip), so the page can reach nothing but the gateway, and no other site may frame it.
 */
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { gzipSync } from "node:zlib"
import { Effect } from "effect"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import type { ServerContext } from "./internal/context.ts"

const TYPES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8"
}

/** The policy for a page whose inline `<style>` is `style` (allowed by its hash, nothing else inline). */
export const contentSecurityPolicy = (style: string | undefined) =>
  `default-src 'none'; script-src 'self'; style-src ${
    style === undefined ? "'self'" : `'sha256-${createHash("sha256").update(style).digest("base64")}'`
  }; connect-src 'self'; img-src 'self' data: blob:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  // the assets change with the gateway version: revalidate (cheap: an ETag match is a 304)
  "cache-control": "no-cache"
}

interface Asset {
  readonly type: string
  readonly raw: Uint8Array
  readonly gzip: Uint8Array
  readonly etag: string
}

/** The bundle's folder, wherever the console package is installed (workspace or node_modules). */
export const bundleDir = (): string =>
  join(dirname(createRequire(import.meta.url).resolve("@llm-gateway/console/package.json")), "dist-ui")

const load = (dir: string): Map<string, Asset> => {
  const assets = new Map<string, Asset>()
  for (const [name, type] of Object.entries(TYPES)) {
    const raw = readFileSync(join(dir, name))
    const etag = `"${createHash("sha256").update(raw).digest("base64url").slice(0, 22)}"`
    assets.set(name, { type, raw, gzip: gzipSync(raw, { level: 9 }), etag })
  }
  return assets
}

const serve = (asset: Asset, csp: string) => (request: HttpServerRequest.HttpServerRequest) => {
  const headers: Record<string, string> = { ...SECURITY_HEADERS, "content-security-policy": csp, etag: asset.etag, vary: "accept-encoding" }
  if (request.headers["if-none-match"] === asset.etag) {
    return Effect.succeed(HttpServerResponse.empty({ status: 304, headers }))
  }
  const gzip = /\bgzip\b/.test(request.headers["accept-encoding"] ?? "")
  if (gzip) headers["content-encoding"] = "gzip"
  return Effect.succeed(HttpServerResponse.uint8Array(gzip ? asset.gzip : asset.raw, { contentType: asset.type, headers }))
}

/** `/ui` (and `/ui/`) and the assets; none when `server.ui` is false or the bundle is not installed. */
export const routes = (ctx: ServerContext): Effect.Effect<ReadonlyArray<HttpRouter.Route<never, never>>> =>
  Effect.gen(function*() {
    if (ctx.config.server.ui === false) return []
    let assets: Map<string, Asset>
    try {
      assets = load(bundleDir())
    } catch (e) {
      yield* Effect.logWarning(`web console unavailable (/ui): @llm-gateway/console's bundle could not be read: ${(e as Error).message}`)
      return []
    }
    const html = assets.get("index.html")!
    const csp = contentSecurityPolicy(/<style>([\s\S]*?)<\/style>/.exec(new TextDecoder().decode(html.raw))?.[1])
    const page = serve(html, csp)
    return [
      // the router ignores a trailing slash: this is `/ui/` too
      HttpRouter.route("GET", "/ui", page),
      HttpRouter.route("GET", "/ui/index.html", page),
      HttpRouter.route("GET", "/ui/app.js", serve(assets.get("app.js")!, csp))
    ]
  })
