/**
 * All use-case services of core in one layer, over the persistence ports and the
 * settings.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { AuditTrail } from "./AuditTrail.js"
import { Commissioning } from "./Commissioning.js"
import { Consulting } from "./Consulting.js"
import { Files } from "./Files.js"
import { Lists } from "./Lists.js"
import { Membership } from "./Membership.js"
import { Notifications } from "./Notifications.js"
import { Dispatcher } from "./Dispatcher.js"
import { Sweeper } from "./Sweeper.js"
import type { SmsSender } from "./SmsSender.js"
import { Outcome } from "./Outcome.js"
import type { Ports } from "./Persistence.js"
import { layerMemory as portsMemory } from "./PersistenceMemory.js"
import { Publishing } from "./Publishing.js"
import { Responding } from "./Responding.js"
import { Review } from "./Review.js"
import { Rewards } from "./Rewards.js"
import { Selection } from "./Selection.js"
import * as Settings from "./Settings.js"
import { Statistics } from "./Statistics.js"

/**
 * Every use-case service.
 *
 * @since 0.1.0
 * @category models
 */
export type Services =
  | Membership
  | Publishing
  | Review
  | Responding
  | Consulting
  | Selection
  | Outcome
  | Commissioning
  | Lists
  | AuditTrail
  | Notifications
  | Files
  | Rewards
  | Statistics

/**
 * The use-case services, needing the ports and the settings.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Services, never, Ports | Settings.Settings> = Layer.mergeAll(
  Membership.Default,
  Publishing.Default,
  Review.Default,
  Responding.Default,
  Consulting.Default,
  Selection.Default,
  Outcome.Default,
  Commissioning.Default,
  Lists.Default,
  AuditTrail.Default,
  Notifications.Default,
  Files.Default,
  Rewards.Default,
  Statistics.Default
)

/**
 * The background workers: the outbox dispatcher (needs an `SmsSender`) and the
 * selection sweeper.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWorkers: Layer.Layer<Dispatcher | Sweeper, never, Ports | Settings.Settings | SmsSender> =
  Layer.merge(Dispatcher.Default, Sweeper.Default)

/**
 * The background workers of {@link layerWorkers}, running: building the layer forks
 * the dispatcher's `run` and the sweeper's `run` into the layer's scope, and closing
 * that scope (disposing the runtime) stops them; a stopped dispatcher leaves no sent
 * message unrecorded. Without running workers no SMS is sent and no selection window
 * ends on time. `owner` names this dispatcher in its leases (a fresh id by default);
 * `sweepEvery` is the sweeper's period (`"1 minute"` by default).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWorkersRunning = (
  options: { readonly owner?: string; readonly sweepEvery?: Duration.DurationInput } = {}
): Layer.Layer<Dispatcher | Sweeper, never, Ports | Settings.Settings | SmsSender> =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const dispatcher = yield* Dispatcher
      const sweeper = yield* Sweeper
      yield* Effect.forkScoped(dispatcher.run(options.owner))
      yield* Effect.forkScoped(sweeper.run(options.sweepEvery))
    })
  ).pipe(Layer.provideMerge(layerWorkers))

/**
 * The services on in-memory ports (fresh each build) with the given settings; the
 * ports stay available too.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (
  overrides: Partial<Settings.PlatformSettings> = {}
): Layer.Layer<Services | Ports | Settings.Settings, import("./Errors.js").InvalidInput> =>
  layer.pipe(Layer.provideMerge(Layer.merge(portsMemory, Settings.layer(overrides))))
