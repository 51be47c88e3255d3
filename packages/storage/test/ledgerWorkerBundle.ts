/**
 * The ledger worker's code as one plain JavaScript module (`src/internal/ledgerWorkerThread.bundle.js`),
 * made from `ledgerColumns.ts`, `ledgerSql.ts` and `ledgerWorkerThread.ts` by Node's own type stripping.
 *
 * Why: run from source, a worker thread that loads a `.ts` file starts Node's TypeScript stripper
 * (a WebAssembly module) in its own isolate: +26 MB RSS for the thread against +13 MB for the same
 * code as JavaScript (measured, Node 24: a bare `node:sqlite` worker, `.ts` vs `.mjs`). The main
 * thread has the stripper loaded anyway; the worker need not. Built (`tsc -b`), the worker is
 * `dist/internal/ledgerWorkerThread.js` and this file plays no part.
 *
 *   node packages/storage/test/ledgerWorkerBundle.ts --write    (after changing either source)
 *
 * `ledgerWorker.test.ts` checks the committed bundle is what this makes of the sources now.
 */
import * as Fs from "node:fs"
import { stripTypeScriptTypes } from "node:module"
import * as Path from "node:path"

const internal = Path.join(import.meta.dirname, "../src/internal")
export const bundlePath = Path.join(internal, "ledgerWorkerThread.bundle.js")

/** The thread's runtime imports of the gateway's own code, inlined in this order (each imports nothing at run time). */
const INLINED = ["ledgerColumns.ts", "ledgerSql.ts"] as const

export const bundle = (): string => {
  const read = (file: string) => Fs.readFileSync(Path.join(internal, file), "utf8")
  let thread = read("ledgerWorkerThread.ts")
  const modules = INLINED.map((file) => {
    const line = new RegExp(`^import \\{[^}]*\\} from "\\./${file.replace(".", "\\.")}"\n`, "m")
    if (!line.test(thread)) throw new Error(`ledgerWorkerThread.ts: the ${file} import changed; update ledgerWorkerBundle.ts`)
    thread = thread.replace(line, "")
    const code = read(file)
    if (/^import (?!type )/m.test(code)) throw new Error(`${file} imports at run time; the bundle inlines it alone`)
    return code
  })
  if (/^import (?!type )[^\n]* from "\.\//m.test(thread)) throw new Error("ledgerWorkerThread.ts imports a module the bundle does not inline; update ledgerWorkerBundle.ts")
  // stripping replaces types with spaces (positions kept): trailing blanks are dropped here
  const strip = (code: string) => stripTypeScriptTypes(code).replace(/[ \t]+$/gm, "")
  return [
    `// GENERATED from ${INLINED.join(", ")} and ledgerWorkerThread.ts by packages/storage/test/ledgerWorkerBundle.ts:`,
    "// do not edit. Why it exists and how to remake it: that file.",
    ...modules.map(strip),
    strip(thread)
  ].join("\n")
}

if (process.argv.includes("--write")) Fs.writeFileSync(bundlePath, bundle())
