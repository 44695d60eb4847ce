import {
  AssociateVPCWithHostedZoneCommand,
  DisassociateVPCFromHostedZoneCommand,
  GetHostedZoneCommand,
  Route53Client,
  type VPCRegion,
} from '@aws-sdk/client-route-53';
import { isAwsErrorCode, rethrowAws } from '../errors.js';
import { bareZoneId } from '../planning/dns.js';
import type { AwsClientSettings } from './clients.js';
import { type ClusterActor, clusterClientSettings } from './cluster-credentials.js';

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

/**
 * The Route53 calls over `client`. `clientForVpc` gives the client that associates or
 * disassociates one VPC: on AWS, one whose session carries the VPC as a tag, since the actor
 * roles allow `route53:VPCs` only for the VPC their session names. Unset, `client` makes them.
 */
export function zoneVpcApi(
  client: Pick<Route53Client, 'send'>,
  clientForVpc: (vpc: ZoneVpc) => Pick<Route53Client, 'send'> = () => client,
): ZoneVpcApi {
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
        await clientForVpc(vpc).send(
          new AssociateVPCWithHostedZoneCommand(associationRequest(zoneId, vpc)),
        );
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
        await clientForVpc(vpc).send(
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

/**
 * The zone calls of one cluster as its launch and delete stages make them: the zone read with the
 * cluster's session (`route53`), each association and disassociation with a session of the actor
 * role tagged with the cluster and that VPC (kept per VPC), so IAM, not this code, limits the
 * session to the VPC it was made for.
 */
export function clusterZoneVpcApi(
  aws: AwsClientSettings,
  actor: ClusterActor,
  cluster: string,
  route53: Pick<Route53Client, 'send'>,
): ZoneVpcApi {
  const clients = new Map<string, Route53Client>();
  return zoneVpcApi(route53, ({ vpcId }) => {
    let client = clients.get(vpcId);
    if (!client) {
      client = new Route53Client(clusterClientSettings(aws, actor, cluster, vpcId));
      clients.set(vpcId, client);
    }
    return client;
  });
}
