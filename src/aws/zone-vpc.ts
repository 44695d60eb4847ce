import {
  AssociateVPCWithHostedZoneCommand,
  DisassociateVPCFromHostedZoneCommand,
  GetHostedZoneCommand,
  type Route53Client,
  type VPCRegion,
} from '@aws-sdk/client-route-53';
import { isAwsErrorCode, rethrowAws } from '../errors.js';
import { bareZoneId } from '../planning/dns.js';

/** A VPC as Route53 names it in a private zone's associations. */
export interface ZoneVpc {
  vpcId: string;
  region: string;
}

/** The Route53 calls that associate a cluster's VPC with a private hosted zone, and undo it. */
export interface ZoneVpcApi {
  /** The zone's kind and the VPCs it is associated with; undefined when the account has no such zone. */
  zoneVpcs(zoneId: string): Promise<{ private: boolean; vpcs: ZoneVpc[] } | undefined>;
  associate(zoneId: string, vpc: ZoneVpc): Promise<void>;
  /**
   * `last` when Route53 refuses because the VPC is the zone's only one (a private zone always
   * keeps one); `absent` when the VPC is not associated (any more).
   */
  disassociate(zoneId: string, vpc: ZoneVpc): Promise<'disassociated' | 'absent' | 'last'>;
}

const COMMENT = 'kopsless: the cluster VPC resolves the cluster records';

/** The zone and VPC as both association calls take them. */
function associationRequest(zoneId: string, vpc: ZoneVpc) {
  return {
    HostedZoneId: bareZoneId(zoneId),
    VPC: { VPCId: vpc.vpcId, VPCRegion: vpc.region as VPCRegion },
    Comment: COMMENT,
  };
}

export function zoneVpcApi(client: Pick<Route53Client, 'send'>): ZoneVpcApi {
  const api: ZoneVpcApi = {
    async zoneVpcs(zoneId) {
      try {
        const out = await client.send(new GetHostedZoneCommand({ Id: bareZoneId(zoneId) }));
        if (!out.HostedZone) return undefined;
        return {
          private: out.HostedZone.Config?.PrivateZone === true,
          vpcs: (out.VPCs ?? []).map((v) => ({ vpcId: v.VPCId ?? '', region: v.VPCRegion ?? '' })),
        };
      } catch (error) {
        if (isAwsErrorCode(error, 'NoSuchHostedZone')) return undefined;
        return rethrowAws(error);
      }
    },
    async associate(zoneId, vpc) {
      try {
        await client.send(new AssociateVPCWithHostedZoneCommand(associationRequest(zoneId, vpc)));
      } catch (error) {
        // Route53 answers ConflictingDomainExists both to a retry whose first attempt went through
        // and when the VPC already resolves the same domain through another zone. Only the first
        // is success: the zone must list the VPC.
        if (isAwsErrorCode(error, 'ConflictingDomainExists')) {
          const zone = await api.zoneVpcs(zoneId);
          if (zone?.vpcs.some((v) => v.vpcId === vpc.vpcId && v.region === vpc.region)) return;
        }
        rethrowAws(error);
      }
    },
    async disassociate(zoneId, vpc) {
      try {
        await client.send(
          new DisassociateVPCFromHostedZoneCommand(associationRequest(zoneId, vpc)),
        );
        return 'disassociated';
      } catch (error) {
        if (isAwsErrorCode(error, 'VPCAssociationNotFound')) return 'absent';
        if (isAwsErrorCode(error, 'LastVPCAssociation')) return 'last';
        return rethrowAws(error);
      }
    },
  };
  return api;
}
