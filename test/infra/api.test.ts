// The API construct alone, on a small stack: the request model comes from the one request schema,
// POST goes to the front-door Lambda, and results are scoped to the principal that started them.
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { generationRequestJsonSchema } from '#contracts/schemas';
import { GenerationApi } from '#infra/constructs/api';

let template: Template;
beforeAll(() => {
  const stack = new Stack(new App(), 'ApiOnly');
  const stateMachine = new sfn.StateMachine(stack, 'Machine', {
    definitionBody: sfn.DefinitionBody.fromChainable(sfn.Pass.jsonPath(stack, 'Done')),
  });
  const startFunction = new lambda.Function(stack, 'Start', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('export const handler = async () => ({ statusCode: 202, body: "{}" });'),
  });
  new GenerationApi(stack, 'Api', { stateMachine, startFunction });
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

  it('sends POST to the front-door Lambda, behind the request model and IAM auth', () => {
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      AuthorizationType: 'AWS_IAM',
      RequestValidatorId: Match.anyValue(),
      RequestModels: { 'application/json': Match.anyValue() },
      Integration: Match.objectLike({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' }),
    });
    expect(text(method('POST').Uri)).toMatch(/lambda:path\/2015-03-31\/functions\/<ref>\/invocations/);
  });

  it('documents 429 with Retry-After among the POST responses', () => {
    const post = Object.values(template.findResources('AWS::ApiGateway::Method')).find(
      (m) => m.Properties.HttpMethod === 'POST',
    );
    expect(post?.Properties.MethodResponses).toEqual(
      expect.arrayContaining([
        { StatusCode: '202' },
        { StatusCode: '400' },
        { StatusCode: '422' },
        { StatusCode: '429', ResponseParameters: { 'method.response.header.Retry-After': true } },
      ]),
    );
  });

  it('asks callers API Gateway itself throttles to retry after a second', () => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'THROTTLED',
      ResponseParameters: { 'gatewayresponse.header.Retry-After': "'1'" },
    });
  });

  it('lets API Gateway invoke the front door, and its own role only describe executions', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
    });
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement,
    );
    expect(statements.flatMap((statement) => [statement.Action].flat())).not.toContain(
      'states:StartExecution',
    );
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
