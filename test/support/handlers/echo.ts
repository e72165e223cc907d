// A Lambda handler for runtime tests: echoes its event and the environment variable it was loaded
// with, or fails with the error name the event asks for.
const loadedWith = process.env.ECHO_GREETING;

class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export async function handler(event: { fail?: string; value?: unknown }, context: { functionName: string }) {
  if (event.fail) throw new NamedError(event.fail, `asked to fail with ${event.fail}`);
  return { value: event.value, greeting: loadedWith, functionName: context.functionName };
}
