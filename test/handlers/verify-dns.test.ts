import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { serveSeedState } from './state-fixture.js';
import { HANDLER_ENV, lambdaContext } from './support.js';

const s3 = mockClient(S3Client);
const cfn = mockClient(CloudFormationClient);
const ec2 = mockClient(EC2Client);
const r53 = mockClient(Route53Client);
let handler: (event: unknown, context: unknown) => Promise<any>;

beforeAll(async () => {
  for (const [k, v] of Object.entries(HANDLER_ENV)) vi.stubEnv(k, v);
  ({ handler } = (await import('../../functions/verify-dns.js')) as unknown as {
    handler: typeof handler;
  });
});
beforeEach(() => {
  for (const m of [s3, cfn, ec2, r53]) m.reset();
  serveSeedState(s3);
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 's',
        StackStatus: 'CREATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: [{ OutputKey: 'HostedZoneId', OutputValue: 'Z1' }],
        Tags: [{ Key: 'KubernetesCluster', Value: 'seed.example.com' }],
      },
    ],
  });
});

const records = (api: string, internal: string) => ({
  ResourceRecordSets: [
    { Name: 'api.seed.example.com.', Type: 'A' as const, ResourceRecords: [{ Value: api }] },
    {
      Name: 'api.internal.seed.example.com.',
      Type: 'A' as const,
      ResourceRecords: [{ Value: internal }],
    },
  ],
  IsTruncated: false,
  MaxItems: 100,
});

describe('verify-dns handler', () => {
  it('upserts public and internal records to the control plane addresses', async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            { InstanceId: 'i-1', PrivateIpAddress: '172.30.0.4', PublicIpAddress: '54.1.2.3' },
          ],
        },
      ],
    });
    r53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() } });

    const out = await handler({ action: 'upsert', cluster: 'seed.example.com' }, lambdaContext);

    const changes = r53.commandCalls(ChangeResourceRecordSetsCommand)[0]!.args[0].input.ChangeBatch!
      .Changes!;
    expect(
      changes.map((c) => [
        c.Action,
        c.ResourceRecordSet!.Name,
        c.ResourceRecordSet!.ResourceRecords![0]!.Value,
      ]),
    ).toEqual([
      ['UPSERT', 'api.seed.example.com.', '54.1.2.3'],
      ['UPSERT', 'api.internal.seed.example.com.', '172.30.0.4'],
    ]);
    expect(out.changeId).toBe('/change/C1');
  });

  it('waits while the change is pending', async () => {
    r53
      .on(GetChangeCommand)
      .resolves({ ChangeInfo: { Id: 'C1', Status: 'PENDING', SubmittedAt: new Date() } });
    r53.on(ListResourceRecordSetsCommand).resolves(records('54.1.2.3', '172.30.0.4'));

    const out = await handler(
      {
        action: 'check',
        cluster: 'seed.example.com',
        changeId: 'C1',
        deadline: '2999-01-01T00:00:00Z',
      },
      lambdaContext,
    );

    expect(out.ready).toBe(false);
  });

  it('fails clearly when a record is still the kOps placeholder at the deadline', async () => {
    r53
      .on(GetChangeCommand)
      .resolves({ ChangeInfo: { Id: 'C1', Status: 'INSYNC', SubmittedAt: new Date() } });
    r53.on(ListResourceRecordSetsCommand).resolves(records('54.1.2.3', '203.0.113.123'));

    const attempt = handler(
      {
        action: 'check',
        cluster: 'seed.example.com',
        changeId: 'C1',
        deadline: '2000-01-01T00:00:00Z',
      },
      lambdaContext,
    );

    await expect(attempt).rejects.toMatchObject({
      name: 'WaitTimeoutError',
      message: expect.stringContaining(
        'api.internal.seed.example.com. still point at the placeholder 203.0.113.123',
      ),
    });
  });
});
