import {
  DeregisterTargetsCommand,
  DescribeTargetGroupAttributesCommand,
  type ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { isAwsErrorCode, rethrowAws } from '../errors.js';

/**
 * The Elastic Load Balancing calls of the rolling update: take a control-plane instance out of the
 * API load balancer, and put it back when its step failed before terminating it.
 */
export interface LoadBalancingApi {
  /** Deregisters the instances; one already deregistered (a retried call) is no error. */
  deregisterTargets(targetGroupArn: string, instanceIds: string[]): Promise<void>;
  /** Registers the instances again (a compensation); one registered already is no error. */
  registerTargets(targetGroupArn: string, instanceIds: string[]): Promise<void>;
  /** The target group's `deregistration_delay.timeout_seconds` (AWS's default, 300, when unset). */
  deregistrationDelaySeconds(targetGroupArn: string): Promise<number>;
}

const DEFAULT_DEREGISTRATION_DELAY_SECONDS = 300;

export function loadBalancingApi(
  client: Pick<ElasticLoadBalancingV2Client, 'send'>,
): LoadBalancingApi {
  return {
    async deregisterTargets(targetGroupArn, instanceIds) {
      if (instanceIds.length === 0) return;
      try {
        await client.send(
          new DeregisterTargetsCommand({
            TargetGroupArn: targetGroupArn,
            Targets: instanceIds.map((Id) => ({ Id })),
          }),
        );
      } catch (error) {
        if (isAwsErrorCode(error, 'InvalidTarget')) return;
        rethrowAws(error);
      }
    },
    async registerTargets(targetGroupArn, instanceIds) {
      if (instanceIds.length === 0) return;
      try {
        await client.send(
          new RegisterTargetsCommand({
            TargetGroupArn: targetGroupArn,
            Targets: instanceIds.map((Id) => ({ Id })),
          }),
        );
      } catch (error) {
        rethrowAws(error);
      }
    },
    async deregistrationDelaySeconds(targetGroupArn) {
      try {
        const answer = await client.send(
          new DescribeTargetGroupAttributesCommand({ TargetGroupArn: targetGroupArn }),
        );
        const value = answer.Attributes?.find(
          (a) => a.Key === 'deregistration_delay.timeout_seconds',
        )?.Value;
        const seconds = Number(value);
        return value !== undefined && Number.isFinite(seconds)
          ? seconds
          : DEFAULT_DEREGISTRATION_DELAY_SECONDS;
      } catch (error) {
        return rethrowAws(error);
      }
    },
  };
}
