// REST front door: POST /v1/generations starts an execution, GET /v1/generations/{id} describes it.
// Both are direct Step Functions integrations (no Lambda), signed with IAM.
import { type CfnElement, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { generationRequestJsonSchema } from '#contracts/schemas';
import { acknowledge } from '../nag.ts';

export interface GenerationApiProps {
  readonly stateMachine: sfn.StateMachine;
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

export class GenerationApi extends Construct {
  public readonly api: apigw.RestApi;
  public readonly accessLogs: logs.LogGroup;
  /** Role API Gateway assumes to call Step Functions. */
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: GenerationApiProps) {
    super(scope, id);
    const { stateMachine } = props;
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_WEEK,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.api = new apigw.RestApi(this, 'Api', {
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
    stateMachine.grantStartExecution(this.role);
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

    // The API Gateway request id doubles as the execution name, so the caller's id is the key
    // for GET without exposing ARNs. The execution input is the caller envelope
    // `{ caller: <IAM principal ARN>, request: <body> }` (Normalize unwraps it); GET answers only
    // the principal named there, so results are scoped to whoever started them.
    generations.addMethod(
      'POST',
      new apigw.AwsIntegration({
        service: 'states',
        action: 'StartExecution',
        options: {
          credentialsRole: this.role,
          passthroughBehavior: apigw.PassthroughBehavior.NEVER,
          requestTemplates: {
            [JSON_TYPE]: [
              '{',
              `"stateMachineArn": "${stateMachine.stateMachineArn}",`,
              '"name": "$context.requestId",',
              '"input": "{\\"caller\\": \\"$util.escapeJavaScript($context.identity.userArn)\\", \\"request\\": ',
              `$util.escapeJavaScript($input.json('$')).replaceAll("\\\\'", "'")}"`,
              '}',
            ].join(''),
          },
          integrationResponses: [
            {
              statusCode: '202',
              responseTemplates: {
                [JSON_TYPE]: `{"id": "$context.requestId", "startDate": "$input.path('$.startDate')"}`,
              },
            },
            {
              statusCode: '500',
              selectionPattern: '(4|5)\\d{2}',
              responseTemplates: { [JSON_TYPE]: GENERIC_ERROR },
            },
          ],
        },
      }),
      {
        requestValidator: validator,
        requestModels: { [JSON_TYPE]: requestModel },
        methodResponses: [{ statusCode: '202' }, { statusCode: '500' }],
      },
    );

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
