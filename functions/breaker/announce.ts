// A breaker state change as an event (Breaker State Changed, docs/events.md): alarms and the chaos
// run's history check read these. Best effort: the change is already written.
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { publishEvent } from '#commons/events';
import type { Tools } from '#commons/lambda';
import { type BreakerStateChangedEvent, DETAIL_TYPES, EVENT_SCHEMA_VERSION } from '#contracts/events';

export async function announceBreakerChange(
  events: EventBridgeClient,
  eventBusName: string | undefined,
  change: Omit<BreakerStateChangedEvent, 'schemaVersion'>,
  logger: Tools['logger'],
): Promise<void> {
  logger[change.to === 'OPEN' ? 'warn' : 'info']('breaker state changed', change);
  if (!eventBusName) return;
  const detail: BreakerStateChangedEvent = { schemaVersion: EVENT_SCHEMA_VERSION, ...change };
  const failure = await publishEvent(events, eventBusName, DETAIL_TYPES.breaker, detail);
  if (failure) logger.error('breaker event not delivered', { stage: change.stage, error: failure });
}
