/**
 * `pnpm -s gateway <command>` (root package.json): serve, ask, models, health, keys.
 * `serve --workers N|auto` runs a node:cluster primary instead (internal/workers.ts), whose
 * workers run this same file with `serve` and the other flags.
 */
// deep imports: the package index also loads NodeRedis (node-redis) and NodeWS (ws), ~2 MB unused
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Cause, Effect, Exit, Layer, Logger, Runtime } from "effect"
import { Command } from "effect/cli"
import { gatewayCommand } from "./CliCommands.ts"
import { isPrimary, runPrimary, takeWorkers } from "./internal/workers.ts"

// Logs go to stderr: stdout carries only results (an answer, a model list).
const logging = Layer.succeed(Logger.LogToStderr, true)

const runCli = () =>
  gatewayCommand.pipe(
    Command.run({ version: "0.1.0" }),
    Effect.provide(Layer.merge(NodeServices.layer, logging)),
    NodeRuntime.runMain({
      // A signal interrupts the command: `serve` sets exit code 0 (stopping is how a server
      // ends); anything else interrupted exits 130, as a shell expects.
      teardown: (exit, onExit) =>
        Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)
          ? onExit(typeof process.exitCode === "number" ? process.exitCode : 130)
          : Runtime.defaultTeardown(exit, onExit)
    })
  )

const args = process.argv.slice(2)
if (args[0] === "serve" && isPrimary() && args.some((a) => a === "--workers" || a.startsWith("--workers="))) {
  let parsed: ReturnType<typeof takeWorkers> | undefined
  try {
    parsed = takeWorkers(args.slice(1))
  } catch (e) {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exitCode = 1
  }
  if (parsed !== undefined && parsed.workers !== undefined && parsed.workers > 1) runPrimary(parsed.workers, ["serve", ...parsed.rest])
  else if (parsed !== undefined) {
    // one worker is the process itself
    process.argv.splice(2, Infinity, "serve", ...parsed.rest)
    runCli()
  }
} else {
  // a worker whose primary is gone (killed) stops as on SIGTERM: nothing hands it connections any more
  if (!isPrimary()) process.once("disconnect", () => process.kill(process.pid, "SIGTERM"))
  runCli()
}
