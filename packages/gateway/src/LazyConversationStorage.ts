/**
 * A ConversationStorage that opens its real store on first use. The embedded default is a
 * SQLite file (`.data/conversations.db` in the working directory): building a manager, or a
 * server that only answers `generate`, must not create files in the caller's directory.
 *
 * Until the store is opened, reads that can be answered without it are: with no database file
 * yet there is nothing to find (`get`/`append`/`delete` → ConversationNotFound, `list` → an empty
 * page, `purgeExpired` → 0). The first `create` (or any call once the file exists) opens the
 * store, in the scope the layer was built in, once; concurrent first calls share the one open.
 * Opening failures (an unwritable path) are defects of that call, like every storage failure.
 */
import {
  ConversationNotFound,
  type ConversationPage,
  ConversationStorage,
  type ConversationStorageShape
} from "@llm-gateway/core/conversations/ConversationStorage"
import type { ConfigurationError } from "@llm-gateway/core/domain/LLMError"
import { Context, Effect, Layer } from "effect"
import { stat } from "node:fs/promises"

export interface LazyStoreOptions {
  /** The store to open on first use. */
  readonly open: Layer.Layer<ConversationStorage, ConfigurationError>
  /**
   * The file the store would create. While it does not exist (and the store is not open), reads
   * answer "nothing stored" without creating it. Absent: every call opens the store.
   */
  readonly file?: string | undefined
}

export const layerLazy = (options: LazyStoreOptions): Layer.Layer<ConversationStorage> =>
  Layer.effect(
    ConversationStorage,
    Effect.gen(function*() {
      // the service's lifetime: the store opened on first use closes with it
      const lifetime = yield* Effect.scope
      let isOpen = false
      const open = yield* Effect.cached(
        Layer.buildWithScope(options.open, lifetime).pipe(
          Effect.map((context) => Context.get(context, ConversationStorage)),
          Effect.tap(() => Effect.sync(() => void (isOpen = true))),
          Effect.orDie
        )
      )
      const file = options.file
      /** True when nothing can be stored yet: not open, and no file from an earlier run. */
      const empty = file === undefined
        ? Effect.succeed(false)
        : Effect.suspend(() => isOpen ? Effect.succeed(false) : Effect.promise(() => stat(file).then(() => false, () => true)))
      const read = <A, E>(whenEmpty: Effect.Effect<A, E>, f: (store: ConversationStorageShape) => Effect.Effect<A, E>) =>
        Effect.flatMap(empty, (nothing) => nothing ? whenEmpty : Effect.flatMap(open, f))
      const notFound = (id: string) => Effect.fail(new ConversationNotFound({ id }))

      return ConversationStorage.of({
        create: (input) => Effect.flatMap(open, (s) => s.create(input)),
        append: (id, messages, opts) => read(notFound(id), (s) => s.append(id, messages, opts)),
        get: (id, opts) => read(notFound(id), (s) => s.get(id, opts)),
        list: (opts) => read(Effect.succeed<ConversationPage>({ items: [] }), (s) => s.list(opts)),
        delete: (id, opts) => read(notFound(id), (s) => s.delete(id, opts)),
        purgeExpired: read(Effect.succeed(0), (s) => s.purgeExpired)
      })
    })
  )
