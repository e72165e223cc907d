// REST front door, signed with IAM: POST /v1/generations goes to the start-generation Lambda
// (validation, admission with 429 + Retry-After, Idempotency-Key, StartExecution);
// GET /v1/generations/{id} is a direct DescribeExecution integration (no Lambda).
import { type CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { generationRequestJsonSchema } from '#contracts/schemas';
import { acknowledge } from '../nag.ts';

export interface GenerationApiProps {
  readonly stateMachine: sfn.StateMachine;
  /** The front door behind POST (functions/start-generation/handler.ts), with its own grants. */
  readonly startFunction: lambda.IFunction;
  /**
   * Deployment stage name.
   * @default 'live'
   */
  readonly stageName?: string;
  /**
   * Steady-state requests per second across the API.
   * @default 5
   */
  readonly rateLimit?: number;
  /**
   * @default 10
   */
  readonly burstLimit?: number;
  /**
   * Browser origins allowed to call the API: preflight answered for them, and their `Origin`
   * echoed in `Access-Control-Allow-Origin`.
   * @default none (no CORS)
   */
  readonly corsOrigins?: readonly string[];
  /**
   * @default logs.RetentionDays.ONE_WEEK
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

const JSON_TYPE = 'application/json';
const GENERIC_ERROR = JSON.stringify({ message: 'internal error' });
const NOT_FOUND = JSON.stringify({ message: 'generation not found' });
/** Seconds a caller throttled by API Gateway itself is asked to wait (Retry-After). */
export const RETRY_AFTER_SECONDS = 1;

/**
 * Sets Access-Control-Allow-Origin to the caller's Origin when it is an allowed one (a mapping
 * template is the only place API Gateway can choose a header per request).
 */
function corsHeader(origins: readonly string[]): string {
  if (origins.length === 0) return '';
  const allowed = origins.map((origin) => `"${origin}"`).join(', ');
  return [
    "#set($origin = $input.params().header.get('Origin'))",
    `#if($origin && [${allowed}].contains($origin))`,
    '#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)',
    '#set($context.responseOverride.header.Vary = "Origin")',
    '#end',
    '',
  ].join('\n');
}

export class GenerationApi extends Construct {
  public readonly api: apigw.RestApi;
  public readonly accessLogs: logs.LogGroup;
  /** Role API Gateway assumes to describe executions (GET). */
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: GenerationApiProps) {
    super(scope, id);
    const { stateMachine } = props;
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_WEEK,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    const origins = props.corsOrigins ?? [];
    this.api = new apigw.RestApi(this, 'Api', {
      ...(origins.length > 0
        ? {
            defaultCorsPreflightOptions: {
              allowOrigins: [...origins],
              allowMethods: ['GET', 'POST', 'OPTIONS'],
              allowHeaders: [...apigw.Cors.DEFAULT_HEADERS, 'x-amz-content-sha256', 'Idempotency-Key'],
              maxAge: Duration.hours(1),
            },
          }
        : {}),
      description: 'chat2svg text-to-SVG generations',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // The account-wide CloudWatch role is a per-region singleton; access logs need none.
      cloudWatchRole: false,
      deployOptions: {
        stageName: props.stageName ?? 'live',
        throttlingRateLimit: props.rateLimit ?? 5,
        throttlingBurstLimit: props.burstLimit ?? 10,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
        tracingEnabled: true,
        metricsEnabled: true,
      },
      defaultMethodOptions: { authorizationType: apigw.AuthorizationType.IAM },
    });

    this.role = new iam.Role(this, 'IntegrationRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
    });
    const { partition, region, account } = Stack.of(this);
    const executions = `arn:${partition}:states:${region}:${account}:execution:${stateMachine.stateMachineName}`;
    this.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [`${executions}:*`] }),
    );

    const generations = this.api.root.addResource('v1').addResource('generations');
    const validator = this.api.addRequestValidator('Validator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    // The one request schema: Normalize parses with it, this model is generated from it.
    const requestSchema = generationRequestJsonSchema();
    const requestModel = this.api.addModel('GenerationRequest', {
      contentType: JSON_TYPE,
      modelName: 'GenerationRequest',
      schema: requestSchema as apigw.JsonSchema,
    });

    // API Gateway's own throttling answers 429 too; the caller is told when to come back.
    this.api.addGatewayResponse('Throttled', {
      type: apigw.ResponseType.THROTTLED,
      responseHeaders: { 'Retry-After': `'${RETRY_AFTER_SECONDS}'` },
      templates: {
        [JSON_TYPE]: JSON.stringify({ message: `too many requests; retry after ${RETRY_AFTER_SECONDS} s` }),
      },
    });

    // The body is checked against the model first (nothing invalid reaches the Lambda), then the
    // front door parses it with the same zod schema, admits it and starts the execution under the
    // API request id (or, with an Idempotency-Key, a hash of caller and key), with the caller
    // envelope `{ caller: <IAM principal ARN>, request: <body> }` as input (Normalize unwraps it);
    // GET answers only the principal named there, so results are scoped to whoever started them.
    generations.addMethod('POST', new apigw.LambdaIntegration(props.startFunction, { proxy: true }), {
      requestValidator: validator,
      requestModels: { [JSON_TYPE]: requestModel },
      methodResponses: [
        ...['202', '400', '409', '422'].map((statusCode) => ({ statusCode })),
        { statusCode: '429', responseParameters: { 'method.response.header.Retry-After': true } },
        { statusCode: '500' },
      ],
    });

    const executionArn = `${executions}:$util.escapeJavaScript($input.params('id'))`;
    generations.addResource('{id}').addMethod(
      'GET',
      new apigw.AwsIntegration({
        service: 'states',
        action: 'DescribeExecution',
        options: {
          credentialsRole: this.role,
          passthroughBehavior: apigw.PassthroughBehavior.NEVER,
          requestTemplates: { [JSON_TYPE]: `{"executionArn": "${executionArn}"}` },
          integrationResponses: [
            {
              statusCode: '200',
              // `output` is the execution's JSON output as a string; it is emitted as JSON. An
              // execution another principal started (or one started outside this API, without the
              // caller envelope) is answered as not found.
              responseTemplates: {
                [JSON_TYPE]: [
                  corsHeader(origins),
                  "#set($r = $input.path('$'))",
                  '#set($started = $util.parseJson($r.input))',
                  '#if("$!started.caller" == "" || "$!started.caller" != "$context.identity.userArn")',
                  '#set($context.responseOverride.status = 404)',
                  NOT_FOUND,
                  '#else',
                  '{"id": "$util.escapeJavaScript($input.params(\'id\'))", "status": "$r.status",',
                  ' "startDate": "$r.startDate", "stopDate": "$!r.stopDate",',
                  ' "error": "$!r.error", "output": #if($r.output)$r.output#{else}null#end}',
                  '#end',
                ].join('\n'),
              },
            },
            {
              statusCode: '404',
              selectionPattern: '4\\d{2}',
              responseTemplates: { [JSON_TYPE]: NOT_FOUND },
            },
            {
              statusCode: '500',
              selectionPattern: '5\\d{2}',
              responseTemplates: { [JSON_TYPE]: GENERIC_ERROR },
            },
          ],
        },
      }),
      {
        requestValidator: validator,
        requestParameters: { 'method.request.path.id': true },
        methodResponses: [{ statusCode: '200' }, { statusCode: '404' }, { statusCode: '500' }],
      },
    );

    acknowledge(
      this,
      'IAM-signed, throttled API; WAF is added per deployment if needed.',
      'AwsSolutions-APIG3',
    );
    acknowledge(
      this,
      'Access logs are on; execution logging needs the per-region account role, managed outside.',
      'AwsSolutions-APIG6',
    );
    acknowledge(this, 'Callers are AWS principals, authorized with IAM (SigV4).', 'AwsSolutions-COG4');
    const machine = `<${Stack.of(this).getLogicalId(stateMachine.node.defaultChild as CfnElement)}.Name>`;
    acknowledge(
      this,
      'DescribeExecution covers the executions of this one state machine; their names are per request.',
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${machine}:*]`,
    );
  }
}
