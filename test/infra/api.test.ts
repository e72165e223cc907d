// The API construct alone, on a small stack: the request model comes from the one request schema,
// and results are scoped to the principal that started them.
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { invocationContext } from '#commons/lambda';
import { generationRequestJsonSchema } from '#contracts/schemas';
import { configFromEnv, makeHandler } from '#functions/normalize-request/handler';
import { GenerationApi } from '#infra/constructs/api';

const normalizeHandler = makeHandler(configFromEnv({}));
const normalize = (event: unknown) => normalizeHandler(event, invocationContext());

let template: Template;
beforeAll(() => {
  const stack = new Stack(new App(), 'ApiOnly');
  const stateMachine = new sfn.StateMachine(stack, 'Machine', {
    definitionBody: sfn.DefinitionBody.fromChainable(sfn.Pass.jsonPath(stack, 'Done')),
  });
  new GenerationApi(stack, 'Api', { stateMachine });
  template = Template.fromStack(stack);
});

/** A template value with CloudFormation joins flattened to text (tokens become <ref>). */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map(text).join(join[0]);
  return '<ref>';
}

function method(httpMethod: string) {
  const methods = Object.values(template.findResources('AWS::ApiGateway::Method')).filter(
    (m) => m.Properties.HttpMethod === httpMethod,
  );
  expect(methods).toHaveLength(1);
  return methods[0].Properties.Integration;
}

describe('GenerationApi', () => {
  it('validates bodies with the model generated from the one request schema', () => {
    template.hasResourceProperties('AWS::ApiGateway::Model', {
      Name: 'GenerationRequest',
      Schema: { $schema: 'http://json-schema.org/draft-04/schema#', ...generationRequestJsonSchema() },
    });
  });

  it('starts the execution with the caller principal beside the body, which Normalize unwraps', async () => {
    const body = { prompt: ' a "quoted" fox\n', seed: 3 };
    const request = text(method('POST').RequestTemplates['application/json'])
      .replace('$context.requestId', 'req-1')
      .replace('$util.escapeJavaScript($context.identity.userArn)', 'arn:aws:iam::111122223333:user/alice')
      .replace(
        `$util.escapeJavaScript($input.json('$')).replaceAll("\\\\'", "'")`,
        JSON.stringify(JSON.stringify(body)).slice(1, -1),
      );

    const started = JSON.parse(request);
    const input = JSON.parse(started.input);
    const normalized = await normalize({ request: input, executionName: started.name });

    expect(input.caller).toBe('arn:aws:iam::111122223333:user/alice');
    expect(normalized.request).toMatchObject({ prompt: 'a "quoted" fox', seed: 3 });
    expect(normalized.requestId).toBe('req-1');
  });

  it('answers GET only to the principal named in the execution input, else not found', () => {
    const ok = method('GET').IntegrationResponses.find((r: { StatusCode: string }) => r.StatusCode === '200');
    const response = ok.ResponseTemplates['application/json'] as string;

    expect(response).toContain('#set($started = $util.parseJson($r.input))');
    expect(response).toContain('"$!started.caller" != "$context.identity.userArn"');
    expect(response).toMatch(
      /#set\(\$context\.responseOverride\.status = 404\)\n\{"message":"generation not found"\}\n#else/,
    );
  });
});
