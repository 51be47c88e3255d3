/**
 * `pnpm -s gateway <command>` (root package.json): serve, ask, models, health.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect, Layer, Logger } from "effect"
import { Command } from "effect/cli"
import { gatewayCommand } from "./CliCommands.ts"

// Logs go to stderr: stdout carries only results (an answer, a model list).
const logging = Layer.succeed(Logger.LogToStderr, true)

gatewayCommand.pipe(
  Command.run({ version: "0.1.0" }),
  Effect.provide(Layer.merge(NodeServices.layer, logging)),
  NodeRuntime.runMain
)
