/**
 * The child side of the bench's process protocol: a child reads its settings from argv[2]
 * (JSON), tells the parent it is ready over IPC, and exits when the parent goes away.
 */

export const settings = <A>(): A => JSON.parse(process.argv[2] ?? "{}") as A

export const ready = (info: Record<string, unknown>): void => {
  process.send?.({ type: "ready", ...info })
}

/** Exit when the parent's IPC channel closes (the bench ended, crashed or was killed). */
export const exitWithParent = (cleanup?: () => unknown): void => {
  process.on("disconnect", () => {
    try {
      void cleanup?.()
    } finally {
      process.exit(0)
    }
  })
}
