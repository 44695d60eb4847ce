import {
  CreateHostedZoneCommand,
  ListHostedZonesByNameCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createZoneCommand, ensureDemoZone } from '../../src/cli/demo-zone.js';

const r53 = mockClient(Route53Client);
beforeEach(() => r53.reset());

const io = () => {
  const out: string[] = [];
  return { out, io: { out: (l: string) => out.push(l), err: (l: string) => out.push(l) } };
};

describe('the demo hosted zone', () => {
  it('is created as the printed aws command would, when the account lacks it', async () => {
    r53.on(ListHostedZonesByNameCommand).resolves({ HostedZones: [], IsTruncated: false });
    r53.on(CreateHostedZoneCommand).resolves({
      HostedZone: { Id: '/hostedzone/ZDEMO', Name: 'example.com.', CallerReference: 'r' },
    });
    const { out, io: printer } = io();

    const code = await ensureDemoZone(new Route53Client({}), 'example.com', printer);

    expect(code).toBe(0);
    expect(createZoneCommand('example.com')).toBe(
      'aws route53 create-hosted-zone --name example.com --caller-reference kopsless-demo-example.com',
    );
    expect(r53.commandCalls(CreateHostedZoneCommand)[0]?.args[0].input).toMatchObject({
      Name: 'example.com',
      CallerReference: 'kopsless-demo-example.com',
    });
    expect(out[0]).toContain('hosted zone example.com created (ZDEMO)');
  });

  it('is reused when an earlier run made it, and a private zone of the name does not count', async () => {
    r53.on(ListHostedZonesByNameCommand).resolves({
      HostedZones: [
        {
          Id: '/hostedzone/ZPRIV',
          Name: 'example.com.',
          CallerReference: 'p',
          Config: { PrivateZone: true },
        },
        { Id: '/hostedzone/ZPUB', Name: 'example.com.', CallerReference: 'q' },
      ],
      IsTruncated: false,
    });
    const { out, io: printer } = io();

    await ensureDemoZone(new Route53Client({}), 'example.com', printer);

    expect(r53.commandCalls(CreateHostedZoneCommand)).toHaveLength(0);
    expect(out).toEqual(['hosted zone example.com exists already (ZPUB): using it']);
  });
});
