/**
 * Builds the gateway that `pnpm start` and `pnpm gateway` run: `src/cli.ts` and everything it
 * imports, bundled by esbuild into `packages/server/dist-bundle/` (`cli.js`, which imports the
 * current build's entry, and per build the chunks of what loads lazily: each provider's client
 * and SDK, Redis, Postgres, the tokenizer). One file would be simpler, but it compiles all of that
 * at start: 133 MB idle against 102–105 split.
 *
 * Why a bundle rather than the sources (notes/operations.md "Serving from a bundle"): a process
 * running the `.ts` sources idles ~60 MB above the same code bundled (164 against 102–106 MB). Node's type stripper costs ~18 MB in the first isolate that loads a `.ts` file, and
 * ~1,600 ES modules (effect alone is hundreds) cost a module record, an environment and a
 * source string each; the bundle is a few tree-shaken files.
 *
 * What stays as in the sources:
 * - `import.meta.url`, `.dirname` and `.filename` are each file's own, as if it had not been
 *   bundled, so relative lookups keep working: the embedded model (`models/`), the console's
 *   `dist-ui`, the ledger's writer thread (`ledgerWorkerThread.bundle.js`), dependencies that
 *   locate their own files; `import.meta.main` is true in `cli.ts` only.
 * - Native addons and CommonJS packages loaded with `import()` stay outside the bundle
 *   (`UNBUNDLED`): they are imported from where they are installed.
 * - Not esbuild's `keepNames`: it wraps every function expression in a call that sets its `name`,
 *   at run time, per closure made (~11 MB of property arrays with 1,000 open streams); code here
 *   does not read function or class names (errors are matched by `instanceof` or set names).
 *
 * Rebuilt only when stale: when an input of the current build changed since it started, vanished
 * (a dependency upgraded to another path), `pnpm install` ran since, or the checkout was moved or
 * copied (the bundle names the checkout's files by absolute path). Prints nothing unless it
 * builds, and then one line to stderr (stdout is the CLI's: `gateway models --json`).
 *
 *   node_modules/node/bin/node packages/server/scripts/bundle.ts [--force]
 */
import * as esbuild from "esbuild"
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { pathToFileURL } from "node:url"

const serverRoot = resolve(import.meta.dirname, "..")
const repoRoot = resolve(serverRoot, "../..")
export const bundleDir = join(serverRoot, "dist-bundle")
/** The stable entry the scripts run: one line importing the current build's `cli.js`. */
export const bundleEntry = join(bundleDir, "cli.js")
const cliSource = join(serverRoot, "src", "cli.ts")
/** Builds kept beside the current one: a server started from an older build may still load a lazy chunk. */
const KEEP_BUILDS = 3

/**
 * Packages imported from their installed location at run time rather than bundled: native addons
 * (node-llama-cpp), and CommonJS packages the sources `import()` (redis): with code splitting,
 * esbuild gives such a chunk only a `default` export, where Node gives its named exports too
 * (`const { createClient } = await import("redis")`). `bundle` fails on one not listed here.
 */
const UNBUNDLED = /^(node-llama-cpp|@node-llama-cpp\/.*|redis)$/

/** Files `pnpm install` rewrites: a newer one means dependencies may have changed. */
const INSTALL_MARKERS = [join(repoRoot, "pnpm-lock.yaml"), join(repoRoot, "node_modules", ".modules.yaml")]

/** What a build records beside its output (`build.json`): when it started reading, and what it read. */
interface BuildRecord {
  readonly startedAt: number
  /** The checkout it was built in: the bundle names its files by absolute path (a moved or copied checkout rebuilds). */
  readonly root: string
  readonly inputs: ReadonlyArray<string>
}

const mtime = (file: string): number | undefined => {
  try {
    return statSync(file).mtimeMs
  } catch {
    return undefined
  }
}

/** The build directory the entry imports (undefined: no build yet). */
const currentBuild = (): string | undefined => {
  try {
    const m = /^import "\.\/(build-[\w-]+)\/cli\.js"/.exec(readFileSync(bundleEntry, "utf8"))
    return m === null ? undefined : join(bundleDir, m[1])
  } catch {
    return undefined
  }
}

/** Whether the current build still matches its inputs. */
export const isFresh = (): boolean => {
  const build = currentBuild()
  if (build === undefined || !existsSync(join(build, "cli.js"))) return false
  let record: BuildRecord
  try {
    record = JSON.parse(readFileSync(join(build, "build.json"), "utf8")) as BuildRecord
  } catch {
    return false
  }
  if (record.root !== repoRoot) return false
  for (const marker of INSTALL_MARKERS) {
    const m = mtime(marker)
    if (m !== undefined && m > record.startedAt) return false
  }
  for (const input of record.inputs) {
    const m = mtime(resolve(repoRoot, input))
    if (m === undefined || m > record.startedAt) return false
  }
  return true
}

const LOADERS: Record<string, esbuild.Loader> = { ts: "ts", mts: "ts", cts: "ts", js: "js", mjs: "js", cjs: "js" }

/** Each file's `import.meta` as it would be unbundled (see the header). */
const ownImportMeta: esbuild.Plugin = {
  name: "own-import-meta",
  setup(build) {
    build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
      const source = readFileSync(args.path, "utf8")
      const ext = args.path.slice(args.path.lastIndexOf(".") + 1)
      // read once here: returned as is when it has no import.meta (undefined would make esbuild read it again)
      if (!source.includes("import.meta")) return { contents: source, loader: LOADERS[ext] ?? "js" }
      const contents = source
        .replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(args.path).href))
        .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(dirname(args.path)))
        .replace(/\bimport\.meta\.filename\b/g, JSON.stringify(args.path))
        .replace(/\bimport\.meta\.main\b/g, args.path === cliSource ? "import.meta.main" : "false")
      return { contents, loader: LOADERS[ext] ?? "js" }
    })
  }
}

/** `UNBUNDLED` packages: left to Node, by the absolute path they resolve to from their importer. */
const unbundled: esbuild.Plugin = {
  name: "unbundled",
  setup(build) {
    build.onResolve({ filter: UNBUNDLED }, async (args) => {
      if (args.pluginData === "unbundled") return undefined
      const found = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: "unbundled" })
      if (found.errors.length > 0) return { errors: found.errors }
      return { path: found.path, external: true }
    })
  }
}

/**
 * Builds into a directory of its own (`dist-bundle/build-<time>-<pid>/`), then points the entry at
 * it with an atomic rename: a server running from the previous build keeps its files (its lazy
 * chunks load later), and two builds at once (two `pnpm start`s) cannot mix their outputs.
 */
export const bundle = async (): Promise<{ readonly ms: number; readonly bytes: number }> => {
  const startedAt = Date.now()
  const name = `build-${startedAt.toString(36)}-${process.pid}`
  const outdir = join(bundleDir, name)
  const result = await esbuild.build({
    write: false,
    absWorkingDir: repoRoot,
    entryPoints: { cli: cliSource },
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node22",
    outdir,
    // CommonJS dependencies bundled into ES modules call `require` for Node's built-ins.
    banner: { js: "import { createRequire as __bundleRequire } from \"node:module\"; const require = __bundleRequire(import.meta.url);" },
    metafile: true,
    sourcemap: "linked",
    legalComments: "none",
    logLevel: "silent",
    plugins: [ownImportMeta, unbundled]
  })
  // esbuild writes code as ASCII but keeps some comments as they are. One non-ASCII character
  // (an arrow, an ellipsis in a comment) makes V8 hold the whole chunk's source as a two-byte
  // string: twice the heap for the biggest chunks (~4 MB at start). In comments an escape is as
  // good as the character.
  for (const file of result.outputFiles) {
    mkdirSync(dirname(file.path), { recursive: true })
    writeFileSync(file.path, file.path.endsWith(".js") ? file.text.replace(/[^\x00-\x7f]/g, escapeChar) : file.contents)
  }
  const lazyCommonJs = Object.values(result.metafile.outputs)
    .map((o) => o.entryPoint)
    .filter((entry) => entry !== undefined && result.metafile.inputs[entry]?.format === "cjs")
  if (lazyCommonJs.length > 0) {
    rmSync(outdir, { recursive: true, force: true })
    throw new Error(`CommonJS imported with import(): ${lazyCommonJs.join(", ")}; add its package to UNBUNDLED in ${relative(repoRoot, import.meta.filename)}`)
  }
  const record: BuildRecord = { startedAt, root: repoRoot, inputs: Object.keys(result.metafile.inputs) }
  writeFileSync(join(outdir, "build.json"), JSON.stringify(record))
  const staged = `${bundleEntry}.${process.pid}.tmp`
  writeFileSync(staged, `import "./${name}/cli.js"\n// the current build of packages/server/scripts/bundle.ts\n`)
  renameSync(staged, bundleEntry)
  const builds = readdirSync(bundleDir).filter((d) => d.startsWith("build-")).sort((a, b) => buildTime(b) - buildTime(a))
  for (const old of builds.slice(KEEP_BUILDS)) if (old !== name) rmSync(join(bundleDir, old), { recursive: true, force: true })
  const bytes = Object.entries(result.metafile.outputs).reduce((n, [file, o]) => (file.endsWith(".map") ? n : n + o.bytes), 0)
  return { ms: Date.now() - startedAt, bytes }
}

const escapeChar = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`

const buildTime = (dir: string): number => parseInt(dir.split("-")[1], 36)

if (import.meta.main) {
  if (process.argv.includes("--force") || !isFresh()) {
    try {
      const { bytes, ms } = await bundle()
      process.stderr.write(`bundled the gateway into ${relative(process.cwd(), bundleDir) || "."} (${(bytes / 1e6).toFixed(1)} MB, ${Math.round(ms)} ms)\n`)
    } catch (error) {
      const errors = (error as { errors?: ReadonlyArray<esbuild.Message> }).errors
      process.stderr.write(`error: bundling the gateway failed\n${errors?.map((e) => `  ${e.location?.file ?? ""}:${e.location?.line ?? ""} ${e.text}`).join("\n") ?? String(error)}\n`)
      process.exitCode = 1
    }
  }
}
