/**
 * `pnpm -s gateway <command>` (root package.json): serve, ask, models, health, keys.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Effect, Exit, Layer, Logger, Runtime } from "effect"
import { Command } from "effect/cli"
import { gatewayCommand } from "./CliCommands.ts"

// Logs go to stderr: stdout carries only results (an answer, a model list).
const logging = Layer.succeed(Logger.LogToStderr, true)

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
