// Everything aws-local-stepfunctions 3 needs to run the synthesized definition as Step Functions
// would, in one place: a Node 20 polyfill, two definition rewrites that keep the meaning, and a
// live Context Object (docs/architecture.md §10).
import { randomBytes } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import type { LocalDefinition } from './definition.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './emulators.ts';
import { containerEnvironment, type StatesContainer } from './tasks.ts';

// aws-local-stepfunctions 3 calls Promise.withResolvers, which Node 20 lacks.
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.assign(Promise, {
    withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

/**
 * The Context Object. aws-local-stepfunctions copies it one level deep, so the getters of nested
 * objects stay live: each state step sees its own EnteredTime and task token, stable while that
 * step's paths are evaluated (one synchronous run) and fresh for the next.
 */
export function contextObject(definition: LocalDefinition, executionName: string): Record<string, unknown> {
  const enteredTime = perStep(() => new Date().toISOString());
  const token = perStep(() => randomBytes(24).toString('base64url'));
  const stateMachineArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${definition.stateMachineName}`;
  return {
    Execution: {
      Id: `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${definition.stateMachineName}:${executionName}`,
      Name: executionName,
      StartTime: new Date().toISOString(),
    },
    StateMachine: { Id: stateMachineArn, Name: definition.stateMachineName },
    State: {
      get EnteredTime() {
        return enteredTime();
      },
    },
    Task: {
      get Token() {
        return token();
      },
    },
  };
}

function perStep<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => {
    if (value === undefined) {
      value = make();
      queueMicrotask(() => {
        value = undefined;
      });
    }
    return value;
  };
}

/**
 * Works around two aws-local-stepfunctions 3 bugs with rewrites that keep the meaning, on a copy:
 * - it reads `ResultPath: "$"` as a key named "$" instead of "replace the whole input", and
 *   leaving ResultPath out means exactly that;
 * - it strips every backslash from an intrinsic's string result, so `States.JsonToString` of
 *   anything holding an escaped quote (an inline SVG) is no longer JSON. In the container
 *   overrides, the value is passed through as JSON instead, and the ECS handler stringifies it.
 */
export function adaptForEngine<T>(definition: T): T {
  const copy = structuredClone(definition) as StatesContainer;
  const visit = (container: StatesContainer) => {
    for (const state of Object.values(container.States)) {
      if (state.ResultPath === '$') delete state.ResultPath;
      for (const catcher of (state.Catch ?? []) as { ResultPath?: string }[]) {
        if (catcher.ResultPath === '$') delete catcher.ResultPath;
      }
      if (state.Type === 'Task' && String(state.Resource).startsWith('arn:aws:states:::ecs:runTask')) {
        for (const variable of containerEnvironment(state.Parameters)) {
          const path = /^States\.JsonToString\((\$[^,()]*)\)$/.exec(String(variable['Value.$'] ?? ''));
          if (path) variable['Value.$'] = path[1];
        }
      }
      if (state.Type === 'Parallel') (state.Branches as StatesContainer[]).forEach(visit);
      if (state.Type === 'Map') visit((state.ItemProcessor ?? state.Iterator) as StatesContainer);
    }
  };
  visit(copy);
  return copy as T;
}

/**
 * The engine for a resolved definition. `validate` checks the definition against the ASL schema
 * and its paths and ARNs (ajv: about half a second on a small machine), so it runs where a
 * definition is synthesized; the runtime then trusts what synthesizeLocal made or cached.
 */
export function engineFor(definition: unknown, { validate }: { validate: boolean }): StateMachine {
  return new StateMachine(adaptForEngine(definition) as never, {
    validationOptions: validate ? { checkPaths: true, checkArn: true } : { noValidate: true },
  });
}
