/**
 * Builds the console's bundle into `dist-ui/` with esbuild: `app.js` (every view, minified, no
 * source map: the files are committed, so a fresh clone serves them with no build step) and
 * `index.html` with the stylesheet inlined — a `<link>` is render-blocking, a second round trip
 * before first paint (the server allows the inline `<style>` by its hash in the
 * Content-Security-Policy). The build is deterministic, so a test rebuilds in memory and
 * compares with the committed files: a source change without a rebuild fails the suite.
 *
 *   ./node_modules/.bin/node packages/console/src/build.ts     (or: pnpm --filter @llm-gateway/console build:ui)
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as esbuild from "esbuild"

export const consoleRoot = join(import.meta.dirname, "..")
export const distDir = join(consoleRoot, "dist-ui")
const uiDir = join(consoleRoot, "src", "ui")

const STYLESHEET = '<link rel="stylesheet" href="/ui/app.css">'

/** The files of the bundle by name (`index.html`, `app.js`). */
export const buildUi = async (): Promise<Map<string, string>> => {
  const result = await esbuild.build({
    entryPoints: { app: join(uiDir, "main.ts") },
    bundle: true,
    minify: true,
    format: "esm",
    target: ["es2022", "chrome111", "firefox111", "safari16"],
    charset: "utf8",
    legalComments: "none",
    write: false,
    outdir: distDir,
    logLevel: "silent"
  })
  const css = await esbuild.build({
    entryPoints: { app: join(uiDir, "styles.css") },
    bundle: true,
    minify: true,
    write: false,
    outdir: distDir,
    logLevel: "silent"
  })
  const files = new Map<string, string>()
  for (const f of result.outputFiles) files.set(f.path.slice(distDir.length + 1), f.text)
  const html = readFileSync(join(uiDir, "index.html"), "utf8")
  if (!html.includes(STYLESHEET)) throw new Error(`src/ui/index.html must link the stylesheet as ${STYLESHEET}`)
  files.set("index.html", html.replace(STYLESHEET, () => `<style>${css.outputFiles[0].text.trim()}</style>`))
  return files
}

if (import.meta.main) {
  const files = await buildUi()
  mkdirSync(distDir, { recursive: true })
  rmSync(join(distDir, "app.css"), { force: true })
  for (const [name, text] of files) writeFileSync(join(distDir, name), text)
  console.log([...files].map(([n, t]) => `${n} ${t.length} B`).join("\n"))
}
