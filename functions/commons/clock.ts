// Timestamps as ISO-8601 UTC with millisecond precision — the format of $$.State.EnteredTime —
// so string comparison orders them, in Choice states and DynamoDB conditions alike.

export type Clock = () => Date;
export const systemClock: Clock = () => new Date();

export function toIso(date: Date): string {
  return date.toISOString();
}

export function addSeconds(date: Date, seconds: number): Date {
  return new Date(date.getTime() + seconds * 1000);
}

/** Parses an ISO timestamp; undefined for absent or unparseable input. */
export function parseIso(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
