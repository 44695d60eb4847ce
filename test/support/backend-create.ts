import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { ec2Api } from '../../src/aws/ec2.js';
import { route53Api } from '../../src/aws/route53.js';
import type { CliContext } from '../../src/cli/context.js';
import { runCreate } from '../../src/cli/create.js';
import type { CreateClusterFlags } from '../../src/manifest/create-cluster.js';
import { stackName } from '../../src/planning/names.js';

/** Whether the cluster's stack exists in the backend the SDK points at. */
export async function stackExists(cluster: string): Promise<boolean> {
  try {
    await new CloudFormationClient({}).send(
      new DescribeStacksCommand({ StackName: stackName(cluster) }),
    );
    return true;
  } catch {
    return false;
  }
}

/**
 * `kopsless create cluster` with `flags`, its EC2 and Route53 reads made against the backend the
 * SDK points at (us-east-1), and `context` besides: its exit code and what it printed on stderr.
 */
export async function createFromFlags(
  flags: CreateClusterFlags,
  context: Partial<CliContext> = {},
): Promise<{ code: number; err: string[] }> {
  const err: string[] = [];
  const ctx = {
    ec2: ec2Api(new EC2Client({})),
    dns: route53Api(new Route53Client({})),
    region: 'us-east-1',
    ...context,
  } as unknown as CliContext;
  const code = await runCreate({ flags }, async () => ctx, {
    out: () => undefined,
    err: (line) => err.push(line),
  });
  return { code, err };
}
