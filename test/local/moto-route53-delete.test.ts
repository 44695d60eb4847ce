import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../support/moto.js';

/**
 * src/local/moto/moto_server.py checks a Route53 DELETE against the zone's record sets, as
 * Route53 does: the record set as it is now is deleted, whoever made it (CloudFormation
 * included); a missing one or one given old values is refused with InvalidChangeBatch.
 */
let backend: TestBackend;
let route53: Route53Client;

beforeAll(async () => {
  backend = await startTestBackend('kopsless-route53-delete-test');
  route53 = new Route53Client({});
});

afterAll(() => {
  route53.destroy();
  backend.stop();
});

const aRecord = (name: string, value: string, ttl = 60): ResourceRecordSet => ({
  Name: name,
  Type: 'A',
  TTL: ttl,
  ResourceRecords: [{ Value: value }],
});

function change(action: 'CREATE' | 'UPSERT' | 'DELETE', record: ResourceRecordSet) {
  return route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: backend.zoneId,
      ChangeBatch: { Changes: [{ Action: action, ResourceRecordSet: record }] },
    }),
  );
}

async function namesInZone(): Promise<string[]> {
  const out = await route53.send(
    new ListResourceRecordSetsCommand({ HostedZoneId: backend.zoneId }),
  );
  return (out.ResourceRecordSets ?? []).map((r) => `${r.Name} ${r.Type}`);
}

describe('Route53 DELETE on the local backend', () => {
  it('deletes a record set CloudFormation made, given its current values', async () => {
    const cfn = new CloudFormationClient({});
    await cfn.send(
      new CreateStackCommand({
        StackName: 'records',
        TemplateBody: JSON.stringify({
          Resources: {
            Api: {
              Type: 'AWS::Route53::RecordSet',
              Properties: {
                HostedZoneId: backend.zoneId,
                Name: 'api.cfn.example.com.',
                Type: 'A',
                TTL: '60',
                ResourceRecords: ['203.0.113.123'],
              },
            },
          },
        }),
      }),
    );
    cfn.destroy();

    await change('DELETE', aRecord('api.cfn.example.com.', '203.0.113.123'));

    expect(await namesInZone()).not.toContain('api.cfn.example.com. A');
  });

  it('refuses a DELETE with values other than the current ones, and keeps the record set', async () => {
    await change('UPSERT', aRecord('api.old.example.com.', '10.0.0.1'));
    await change('UPSERT', aRecord('api.old.example.com.', '10.0.0.2'));

    const stale = change('DELETE', aRecord('api.old.example.com.', '10.0.0.1'));

    await expect(stale).rejects.toMatchObject({
      name: 'InvalidChangeBatch',
      message: expect.stringContaining('do not match the current values'),
    });
    expect(await namesInZone()).toContain('api.old.example.com. A');
  });

  it('refuses a DELETE of a record set that does not exist', async () => {
    const missing = change('DELETE', aRecord('api.none.example.com.', '10.0.0.1'));

    await expect(missing).rejects.toMatchObject({
      name: 'InvalidChangeBatch',
      message: expect.stringContaining(
        "Tried to delete resource record set [name='api.none.example.com.', type='A'] but it was not found",
      ),
    });
  });
});
