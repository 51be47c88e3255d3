/**
 * The repo's import-cycle check (issue 12): no cycle between workspace packages, and none between
 * core's top-level units — each top-level file of `packages/core/src` is a unit, and each folder
 * (a room: `domain/`, `routing/`, …) counts as ONE unit whatever its files import among
 * themselves. Every import counts, `import type` included: a type-only cycle is still two rooms
 * that cannot be read, moved or published apart.
 *
 * The parse is exact for this codebase's import forms: static `import … from "x"`,
 * `export … from "x"`, side-effect `import "x"`, and dynamic `import("x")` with a literal.
 * Comments are stripped first so an example in a doc comment is not an import.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve, sep } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..")
const packagesDir = join(root, "packages")

const sourceFiles = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === "node_modules" ? [] : sourceFiles(path)
    return path.endsWith(".ts") && !path.endsWith(".d.ts") ? [path] : []
  })

const stripComments = (text: string): string =>
  text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1")

/** Every module specifier a file imports or re-exports. */
export const specifiers = (text: string): Array<string> => {
  const code = stripComments(text)
  const out: Array<string> = []
  const patterns = [
    /(?:^|[\s;])(?:import|export)\s[^"'`;]*?\sfrom\s*["']([^"']+)["']/g,
    /(?:^|[\s;])import\s*["']([^"']+)["']/g,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g
  ]
  for (const pattern of patterns) for (const m of code.matchAll(pattern)) out.push(m[1])
  return out
}

interface Pkg {
  readonly dir: string
  readonly name: string
}

const packages: ReadonlyArray<Pkg> = readdirSync(packagesDir)
  .filter((d) => statSync(join(packagesDir, d, "package.json"), { throwIfNoEntry: false })?.isFile() === true)
  .map((d) => ({
    dir: join(packagesDir, d),
    name: (JSON.parse(readFileSync(join(packagesDir, d, "package.json"), "utf8")) as { name: string }).name
  }))

const packageOfPath = (path: string): Pkg | undefined =>
  packages.find((p) => path === p.dir || path.startsWith(p.dir + sep))

const packageOfSpecifier = (spec: string): Pkg | undefined =>
  packages.find((p) => spec === p.name || spec.startsWith(p.name + "/"))

/** The strongly connected components with more than one node, or a self-loop: the cycles. */
export const cyclesOf = (graph: ReadonlyMap<string, ReadonlySet<string>>): Array<Array<string>> => {
  let index = 0
  const indices = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const out: Array<Array<string>> = []
  const visit = (v: string) => {
    indices.set(v, index)
    low.set(v, index++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!indices.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indices.get(w)!))
    }
    if (low.get(v) === indices.get(v)) {
      const component: Array<string> = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1 || graph.get(v)?.has(v) === true) out.push(component.sort())
    }
  }
  for (const v of graph.keys()) if (!indices.has(v)) visit(v)
  return out
}

const addEdge = (graph: Map<string, Set<string>>, from: string, to: string) => {
  if (!graph.has(to)) graph.set(to, new Set())
  const edges = graph.get(from) ?? new Set<string>()
  edges.add(to)
  graph.set(from, edges)
}

/** Package → packages its sources import (workspace packages only; relative imports that leave a package count too). */
const packageGraph = () => {
  const graph = new Map<string, Set<string>>()
  for (const pkg of packages) {
    graph.set(pkg.name, graph.get(pkg.name) ?? new Set())
    for (const file of sourceFiles(join(pkg.dir, "src"))) {
      for (const spec of specifiers(readFileSync(file, "utf8"))) {
        const target = spec.startsWith(".") ? packageOfPath(resolve(dirname(file), spec)) : packageOfSpecifier(spec)
        if (target !== undefined && target.name !== pkg.name) addEdge(graph, pkg.name, target.name)
      }
    }
  }
  return graph
}

const coreSrc = join(packagesDir, "core", "src")

/** `domain` for `core/src/domain/Domain.ts`, `index.ts` for a top-level file. */
const coreUnit = (path: string): string | undefined => {
  const rel = relative(coreSrc, path)
  if (rel.startsWith("..")) return undefined
  const parts = rel.split(sep)
  return parts.length === 1 ? parts[0] : parts[0] + "/"
}

/** Core's top-level units → the units they import (relative imports and core's own deep imports). */
const coreGraph = () => {
  const graph = new Map<string, Set<string>>()
  for (const file of sourceFiles(coreSrc)) {
    const from = coreUnit(file)!
    if (!graph.has(from)) graph.set(from, new Set())
    for (const spec of specifiers(readFileSync(file, "utf8"))) {
      const path = spec.startsWith(".")
        ? resolve(dirname(file), spec)
        : spec.startsWith("@llm-gateway/core/")
        ? join(coreSrc, spec.slice("@llm-gateway/core/".length) + ".ts")
        : undefined
      const to = path === undefined ? undefined : coreUnit(path)
      if (to !== undefined && to !== from) addEdge(graph, from, to)
    }
  }
  return graph
}

describe("import cycles", () => {
  it("the parser finds every import form and ignores comments", () => {
    const text = [
      `import { a } from "./a.ts"`,
      `import type { B } from "../b/B.ts"`,
      `export * from "./c.ts"`,
      `export { d } from "@llm-gateway/core/d/D"`,
      `import "./side.ts"`,
      `const lazy = () => import("@llm-gateway/storage/Redis")`,
      `import {`,
      `  e,`,
      `  type F`,
      `} from "./e.ts"`,
      `// import { no } from "./commented.ts"`,
      `/** import { no } from "./doc.ts" */`
    ].join("\n")
    expect(specifiers(text).sort()).toEqual(
      ["./a.ts", "../b/B.ts", "./c.ts", "@llm-gateway/core/d/D", "./side.ts", "@llm-gateway/storage/Redis", "./e.ts"].sort()
    )
  })

  it("the cycle finder reports a cycle and only the cycle", () => {
    const graph = new Map([
      ["a", new Set(["b"])],
      ["b", new Set(["c"])],
      ["c", new Set(["a"])],
      ["d", new Set(["a"])]
    ])
    expect(cyclesOf(graph)).toEqual([["a", "b", "c"]])
  })

  it("no cycle between workspace packages", () => {
    const graph = packageGraph()
    expect(graph.size).toBeGreaterThanOrEqual(10)
    expect(cyclesOf(graph)).toEqual([])
  })

  it("the request path imports one way: cache/ and routing/ never import manager/ or each other", () => {
    const graph = coreGraph()
    // the semantic cache reaches the router only through the Embedder port the wiring fills
    const back = [["cache/", "routing/"], ["cache/", "manager/"], ["routing/", "cache/"], ["routing/", "manager/"]]
      .filter(([from, to]) => graph.get(from)?.has(to) === true)
    expect(back).toEqual([])
  })

  it("no cycle between core's top-level files and folders (a folder is one unit)", () => {
    const graph = coreGraph()
    expect([...graph.keys()]).toEqual(expect.arrayContaining(["domain/", "routing/", "cache/", "manager/", "index.ts"]))
    expect(cyclesOf(graph)).toEqual([])
  })
})
