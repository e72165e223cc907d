// Putting one pipeline event on EventBridge (schemas in #contracts/events). A lost event is the
// caller's to log: the outcome it announces already happened.
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { type DetailType, EVENT_SOURCE } from '#contracts/events';

/** Puts the event; returns the failure instead of throwing it. */
export async function publishEvent(
  events: EventBridgeClient,
  eventBusName: string,
  detailType: DetailType,
  detail: object,
): Promise<Error | undefined> {
  try {
    const sent = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: eventBusName,
            Source: EVENT_SOURCE,
            DetailType: detailType,
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );
    const entry = sent.Entries?.[0];
    return sent.FailedEntryCount
      ? new Error(`${entry?.ErrorCode ?? 'PutEvents'}: ${entry?.ErrorMessage ?? 'failed'}`)
      : undefined;
  } catch (error) {
    return error as Error;
  }
}
