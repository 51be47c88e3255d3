/**
 * The ledger worker's code as one plain JavaScript module (`src/internal/ledgerWorkerThread.bundle.js`),
 * made from `ledgerSql.ts` and `ledgerWorkerThread.ts` by Node's own type stripping.
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

/** The one runtime import the thread has of the gateway's own code: inlined from ledgerSql.ts. */
const SQL_IMPORT = /^import \{ batchStatements \} from "\.\/ledgerSql\.ts"\n/m

export const bundle = (): string => {
  const read = (file: string) => Fs.readFileSync(Path.join(internal, file), "utf8")
  const thread = read("ledgerWorkerThread.ts")
  if (!SQL_IMPORT.test(thread)) throw new Error("ledgerWorkerThread.ts: the ledgerSql.ts import changed; update ledgerWorkerBundle.ts")
  const sql = read("ledgerSql.ts")
  if (/^import (?!type )/m.test(sql)) throw new Error("ledgerSql.ts imports at run time; the bundle inlines it alone")
  // stripping replaces types with spaces (positions kept): trailing blanks are dropped here
  const strip = (code: string) => stripTypeScriptTypes(code).replace(/[ \t]+$/gm, "")
  return [
    "// GENERATED from ledgerSql.ts and ledgerWorkerThread.ts by packages/storage/test/ledgerWorkerBundle.ts:",
    "// do not edit. Why it exists and how to remake it: that file.",
    strip(sql),
    strip(thread.replace(SQL_IMPORT, ""))
  ].join("\n")
}

if (process.argv.includes("--write")) Fs.writeFileSync(bundlePath, bundle())
