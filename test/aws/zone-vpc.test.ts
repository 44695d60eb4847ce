import {
  AssociateVPCWithHostedZoneCommand,
  ConflictingDomainExists,
  GetHostedZoneCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { zoneVpcApi } from '../../src/aws/zone-vpc.js';

const route53 = mockClient(Route53Client);
const api = () =>
  zoneVpcApi(
    new Route53Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  );
const vpc = { vpcId: 'vpc-0123456789abcdef0', region: 'us-east-1' };
const conflict = () =>
  new ConflictingDomainExists({ message: 'conflicting domain', $metadata: {} });

beforeEach(() => route53.reset());

describe('associating a VPC with a private zone', () => {
  it('takes ConflictingDomainExists as done when the zone already lists the VPC (a retry)', async () => {
    route53.on(AssociateVPCWithHostedZoneCommand).rejects(conflict());
    route53.on(GetHostedZoneCommand).resolves({
      HostedZone: {
        Id: 'Z1',
        Name: 'example.com.',
        CallerReference: 'r',
        Config: { PrivateZone: true },
      },
      VPCs: [{ VPCId: vpc.vpcId, VPCRegion: 'us-east-1' }],
    });

    await expect(api().associate('/hostedzone/Z1', vpc)).resolves.toBeUndefined();
    expect(route53.commandCalls(AssociateVPCWithHostedZoneCommand)[0]?.args[0].input).toMatchObject(
      {
        HostedZoneId: 'Z1',
        VPC: { VPCId: vpc.vpcId, VPCRegion: 'us-east-1' },
      },
    );
  });

  it('fails when the VPC resolves the same domain through another zone', async () => {
    route53.on(AssociateVPCWithHostedZoneCommand).rejects(conflict());
    route53.on(GetHostedZoneCommand).resolves({
      HostedZone: {
        Id: 'Z1',
        Name: 'example.com.',
        CallerReference: 'r',
        Config: { PrivateZone: true },
      },
      VPCs: [{ VPCId: 'vpc-0fffffffffffffff0', VPCRegion: 'us-east-1' }],
    });

    await expect(api().associate('Z1', vpc)).rejects.toThrow(/conflicting domain/);
  });
});
