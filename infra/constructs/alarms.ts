// The pipeline's alarms, all to one SNS topic (optional e-mail subscription per environment):
// executions that end abnormally, a breaker that opens, the degraded share of completions, Lambda
// errors and API 5xx. Breaker and completion alarms count the pipeline's own events (docs/events.md)
// through EventBridge rules' MatchedEvents metric.
import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DETAIL_TYPES, type DetailType, EVENT_SOURCE } from '#contracts/events';
import { acknowledge } from '../nag.ts';

/** Metrics one CloudWatch metric-math alarm may use. */
const MAX_ALARM_METRICS = 10;

export interface PipelineAlarmsProps {
  readonly namePrefix: string;
  /** Subscribed to the topic when set. */
  readonly email?: string;
  /** Degraded completions, as a share of all completions over 15 minutes, that raise the alarm. */
  readonly degradedPercent: number;
  readonly stateMachine: sfn.StateMachine;
  readonly functions: lambda.IFunction[];
  readonly api: apigw.RestApi;
}

export class PipelineAlarms extends Construct {
  public readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);
    const { namePrefix } = props;
    this.topic = new sns.Topic(this, 'Topic', { enforceSSL: true });
    acknowledge(
      this.topic,
      'CloudWatch alarm actions cannot publish to a topic under the AWS managed SNS key; the topic ' +
        'carries alarm state changes only.',
      'AwsSolutions-SNS2',
    );
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));

    const alarm = (
      alarmId: string,
      metric: cloudwatch.IMetric,
      what: string,
      threshold = 1,
      comparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ) =>
      new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `${namePrefix}: ${what}`,
      }).addAlarmAction(new cwActions.SnsAction(this.topic));
    const period = { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM };
    const machine = props.stateMachine;
    alarm('ExecutionsFailed', machine.metricFailed(period), 'pipeline executions failed');
    alarm('ExecutionsTimedOut', machine.metricTimedOut(period), 'pipeline executions timed out');
    alarm('ExecutionsAborted', machine.metricAborted(period), 'pipeline executions aborted');

    const matched = (
      ruleId: string,
      detailType: DetailType,
      detail?: Record<string, unknown>,
      minutes = 5,
    ) => {
      const rule = new events.Rule(this, ruleId, {
        description: `${namePrefix}: counts ${detailType} events`,
        eventPattern: { source: [EVENT_SOURCE], detailType: [detailType], ...(detail ? { detail } : {}) },
      });
      return new cloudwatch.Metric({
        namespace: 'AWS/Events',
        metricName: 'MatchedEvents',
        dimensionsMap: { RuleName: rule.ruleName },
        period: Duration.minutes(minutes),
        statistic: cloudwatch.Stats.SUM,
      });
    };
    alarm(
      'BreakerOpened',
      matched('BreakerOpenedRule', DETAIL_TYPES.breaker, { to: ['OPEN'] }),
      'a stage breaker opened',
    );
    const completed = matched('CompletedRule', DETAIL_TYPES.completed, undefined, 15);
    const degraded = matched('DegradedRule', DETAIL_TYPES.completedDegraded, undefined, 15);
    alarm(
      'DegradedRate',
      new cloudwatch.MathExpression({
        expression: 'IF((c + d) > 0, 100 * d / (c + d), 0)',
        usingMetrics: { c: completed, d: degraded },
        period: Duration.minutes(15),
        label: 'degraded completions (%)',
      }),
      `more than ${props.degradedPercent}% of completions degraded`,
      props.degradedPercent,
      cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    );
    // An alarm's math sums at most 10 metrics: one alarm per ten functions.
    for (let start = 0; start < props.functions.length; start += MAX_ALARM_METRICS) {
      const group = props.functions.slice(start, start + MAX_ALARM_METRICS);
      alarm(
        start === 0 ? 'LambdaErrors' : `LambdaErrors${start / MAX_ALARM_METRICS + 1}`,
        new cloudwatch.MathExpression({
          expression: 'SUM(METRICS())',
          usingMetrics: Object.fromEntries(group.map((fn, i) => [`f${i}`, fn.metricErrors(period)])),
          period: period.period,
          label: 'pipeline Lambda errors',
        }),
        'pipeline Lambda functions errored',
      );
    }
    alarm('Api5xx', props.api.metricServerError(period), 'the API answered with 5xx');
  }
}
