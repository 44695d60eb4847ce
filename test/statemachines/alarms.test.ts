import { describe, expect, it } from 'vitest';
import { ALL_STATE_MACHINES, FUNCTIONS } from '../../src/functions-registry.js';
import { readTemplate } from '../support/template.js';

const template = readTemplate();
const alarms = Object.entries(template.Resources).filter(
  ([, r]) => r.Type === 'AWS::CloudWatch::Alarm',
);
const alarmOn = (namespace: string, metric: string, dimension: string, ref: unknown) =>
  alarms.filter(
    ([, a]) =>
      a.Properties!.Namespace === namespace &&
      a.Properties!.MetricName === metric &&
      JSON.stringify(a.Properties!.Dimensions) ===
        JSON.stringify([{ Name: dimension, Value: ref }]),
  );

describe('alarms and notifications in template.yaml', () => {
  it.each(Object.keys(ALL_STATE_MACHINES))(
    'alarms on failed and timed-out executions of %s',
    (machine) => {
      for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut'])
        expect(
          alarmOn('AWS/States', metric, 'StateMachineArn', { Ref: machine }),
          metric,
        ).toHaveLength(1);
    },
  );

  it.each(Object.keys(FUNCTIONS))('alarms on errors and throttles of %s', (fn) => {
    for (const metric of ['Errors', 'Throttles'])
      expect(alarmOn('AWS/Lambda', metric, 'FunctionName', { Ref: fn }), metric).toHaveLength(1);
  });

  it("alarms when the watcher's dead-letter queue holds a message", () => {
    expect(
      alarmOn('AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', {
        'Fn::GetAtt': 'WatchEniDeadLetterQueue.QueueName',
      }),
    ).toHaveLength(1);
  });

  it('sends every alarm to the notification topic when it fires and when it clears', () => {
    for (const [id, alarm] of alarms) {
      expect(alarm.Properties!.AlarmActions, id).toEqual([{ Ref: 'NotificationTopic' }]);
      expect(alarm.Properties!.OKActions, id).toEqual([{ Ref: 'NotificationTopic' }]);
    }
  });

  it("routes status changes of kopsless's own state machines, and only those, to NotifyFunction", () => {
    const event = template.Resources.NotifyFunction!.Properties!.Events.ExecutionStatusChange;
    expect(event.Type).toBe('EventBridgeRule');
    expect(event.Properties.Pattern.source).toEqual(['aws.states']);
    expect(
      event.Properties.Pattern.detail.stateMachineArn.map((r: { Ref: string }) => r.Ref).sort(),
    ).toEqual(Object.keys(ALL_STATE_MACHINES).sort());
  });
});
