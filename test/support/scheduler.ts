/**
 * A DeliveryScheduler for tests of the scheduler itself: node n1, ids and timers from the
 * test's ManualClock, the targets from a map the test changes, a 60 s lease and 60 s first
 * retry unless `over` says otherwise.
 */
import { MessageIdGenerator } from '../../src/core/message-id.js';
import { DeliveryScheduler, type SchedulerOptions } from '../../src/delivery/scheduler.js';
import type { DeliveryTarget } from '../../src/delivery/target.js';
import type { ManualClock } from '../../src/session/clock.js';
import type { Store } from '../../src/store/types.js';

export function testScheduler(
  store: Store,
  clock: ManualClock,
  targets: ReadonlyMap<string, DeliveryTarget>,
  over: Partial<SchedulerOptions> = {},
): DeliveryScheduler {
  return new DeliveryScheduler({
    store,
    clock,
    ids: new MessageIdGenerator(1, () => clock.now()),
    nodeId: 'n1',
    targets: () => targets,
    leaseMs: 60_000,
    retryDelayMs: 60_000,
    maxRetryDelayMs: 600_000,
    ...over,
  });
}
