import { type FieldIssue, SpecInvalidError } from '../errors.js';
import type { CompletedManifest } from '../manifest/completed.js';
import type { ClusterSubnetSpec } from '../manifest/types.js';
import { logicalId, subnetLogicalIds } from './names.js';

/**
 * The network part of the cluster stack, as kOps builds it: the VPC, its internet gateway, the
 * subnets, a NAT gateway per zone of private subnets and the route tables. What the manifest
 * says exists already (`spec.networkID`, a subnet's `id`, a private subnet's `egress`) is left
 * out of the stack and only referred to, so deleting the stack never deletes it.
 */

type Json = Record<string, unknown>;
type Tag = { Key: string; Value: string };

/** What the stack needs to know about a VPC it does not create, found by the launch stage. */
export interface ExistingNetwork {
  /** The VPC of the shared subnets, when the manifest names no `networkID` (kOps finds it so too). */
  vpcId?: string;
  /** The internet gateway attached to `spec.networkID`, for the public subnets kopsless creates in it. */
  internetGatewayId?: string;
}

/** The `egress` that leaves a subnet's routing to its owner (kOps's `External`). */
export const EXTERNAL_EGRESS = 'External';

/**
 * Where a private subnet's default route goes for each of kOps's egress kinds that names an
 * existing resource: a NAT gateway, a NAT instance, a transit gateway. (`eipalloc-` is a NAT
 * gateway the stack creates on an existing Elastic IP; `External` is no route of ours at all.)
 */
const ROUTE_TARGETS: Array<[prefix: string, property: string]> = [
  ['nat-', 'NatGatewayId'],
  ['i-', 'InstanceId'],
  ['tgw-', 'TransitGatewayId'],
];

/** True when the subnet exists already (kOps: a shared subnet) and the stack only refers to it. */
export function isSharedSubnet(subnet: Pick<ClusterSubnetSpec, 'id'>): boolean {
  return typeof subnet.id === 'string' && subnet.id !== '';
}

/** The output key that carries a subnet's ID. */
export function subnetOutputKey(subnetName: string): string {
  return subnetLogicalIds(subnetName).subnet;
}

const isPublic = (s: ClusterSubnetSpec) => s.type === 'Public' || s.type === 'Utility';

export interface NetworkSection {
  resources: Json;
  outputs: Json;
  /** What the rest of the stack uses for the VPC ID: a `Ref` to the stack's VPC, or the shared VPC's ID. */
  vpcId: unknown;
  /** The logical ID that NAT gateway EIPs and public routes wait for, when the stack attaches an internet gateway. */
  gatewayAttachment?: string;
}

/**
 * Renders the network resources for a completed manifest. `tags` tags a resource the stack
 * creates (the cluster tags, the cloud labels and the extra ones given).
 */
export function renderNetwork(
  manifest: CompletedManifest,
  tags: (extra?: Record<string, string>) => Tag[],
  existing: ExistingNetwork = {},
): NetworkSection {
  const spec = manifest.cluster.spec;
  const name = manifest.cluster.metadata.name;
  const subnets = spec.subnets ?? [];
  const resources: Json = {};
  const outputs: Json = {};
  const output = (key: string, value: unknown) => (outputs[key] = { Value: value });
  const sharedVpcId =
    typeof spec.networkID === 'string' && spec.networkID !== '' ? spec.networkID : existing.vpcId;
  const sharedVpc = sharedVpcId !== undefined;
  const vpcId: unknown = sharedVpc ? sharedVpcId : { Ref: 'Vpc' };
  const problems: FieldIssue[] = [];

  if (!sharedVpc) {
    resources.Vpc = {
      Type: 'AWS::EC2::VPC',
      Properties: {
        CidrBlock: spec.networkCIDR,
        EnableDnsHostnames: true,
        EnableDnsSupport: true,
        Tags: tags({ Name: name }),
      },
    };
  }
  output('VpcId', vpcId);

  // Subnets the stack creates; shared ones keep their own routing and are only output.
  const created = subnets.filter((s) => !isSharedSubnet(s));
  const routed = created.filter((s) => s.egress !== EXTERNAL_EGRESS);
  const needsPublicRoutes = routed.some(isPublic);
  let internetGateway: unknown;
  let gatewayAttachment: string | undefined;
  if (!sharedVpc) {
    resources.InternetGateway = {
      Type: 'AWS::EC2::InternetGateway',
      Properties: { Tags: tags({ Name: name }) },
    };
    resources.InternetGatewayAttachment = {
      Type: 'AWS::EC2::VPCGatewayAttachment',
      Properties: { VpcId: vpcId, InternetGatewayId: { Ref: 'InternetGateway' } },
    };
    internetGateway = { Ref: 'InternetGateway' };
    gatewayAttachment = 'InternetGatewayAttachment';
  } else if (needsPublicRoutes) {
    internetGateway = existing.internetGatewayId;
    if (!internetGateway)
      problems.push({
        path: 'spec.networkID',
        message: `Not found: an internet gateway attached to VPC ${JSON.stringify(sharedVpcId)}, which the public subnets kopsless creates in it route through`,
      });
  }
  if (!sharedVpc || needsPublicRoutes) {
    resources.PublicRouteTable = {
      Type: 'AWS::EC2::RouteTable',
      Properties: {
        VpcId: vpcId,
        Tags: tags({ Name: name, 'kubernetes.io/kops/role': 'public' }),
      },
    };
    resources.PublicDefaultRoute = {
      Type: 'AWS::EC2::Route',
      ...(gatewayAttachment ? { DependsOn: gatewayAttachment } : {}),
      Properties: {
        RouteTableId: { Ref: 'PublicRouteTable' },
        DestinationCidrBlock: '0.0.0.0/0',
        GatewayId: internetGateway,
      },
    };
  }

  for (const subnet of subnets) {
    const id = subnetOutputKey(subnet.name);
    if (isSharedSubnet(subnet)) {
      output(id, subnet.id);
      continue;
    }
    resources[id] = {
      Type: 'AWS::EC2::Subnet',
      Properties: {
        VpcId: vpcId,
        CidrBlock: subnet.cidr,
        AvailabilityZone: subnet.zone,
        MapPublicIpOnLaunch: isPublic(subnet),
        Tags: tags({
          Name: `${subnet.name}.${name}`,
          SubnetType: subnet.type,
          [isPublic(subnet) ? 'kubernetes.io/role/elb' : 'kubernetes.io/role/internal-elb']: '1',
        }),
      },
    };
    output(id, { Ref: id });
  }

  // Private subnets leave through a NAT gateway in a public subnet of their own zone, as in kOps,
  // or through what their egress names.
  const privateZones = [...new Set(routed.filter((s) => s.type === 'Private').map((s) => s.zone))];
  for (const zone of privateZones) {
    const z = logicalId('', zone);
    const egress = routed.find((s) => s.zone === zone && s.type === 'Private')?.egress;
    const existingTarget = egress
      ? ROUTE_TARGETS.find(([prefix]) => egress.startsWith(prefix))
      : undefined;
    let route: Json = existingTarget ? { [existingTarget[1]]: egress } : {};
    if (!existingTarget) {
      const egressSubnet =
        subnets.find((s) => s.zone === zone && s.type === 'Utility') ??
        subnets.find((s) => s.zone === zone && s.type === 'Public');
      if (!egressSubnet) {
        problems.push({
          path: 'spec.subnets',
          message: `Forbidden: Private subnets in zone "${zone}" need a Utility subnet in the same zone for their NAT gateway`,
        });
        continue;
      }
      // An `eipalloc-` egress gives the NAT gateway that address instead of a new one.
      const address = egress?.startsWith('eipalloc-') ? egress : undefined;
      if (!address)
        resources[`NatEip${z}`] = {
          Type: 'AWS::EC2::EIP',
          ...(gatewayAttachment ? { DependsOn: gatewayAttachment } : {}),
          Properties: { Domain: 'vpc', Tags: tags({ Name: `${zone}.${name}` }) },
        };
      resources[`NatGateway${z}`] = {
        Type: 'AWS::EC2::NatGateway',
        Properties: {
          AllocationId: address ?? { 'Fn::GetAtt': [`NatEip${z}`, 'AllocationId'] },
          SubnetId: isSharedSubnet(egressSubnet)
            ? egressSubnet.id
            : { Ref: subnetOutputKey(egressSubnet.name) },
          Tags: tags({ Name: `${zone}.${name}` }),
        },
      };
      route = { NatGatewayId: { Ref: `NatGateway${z}` } };
    }
    resources[`PrivateRouteTable${z}`] = {
      Type: 'AWS::EC2::RouteTable',
      Properties: {
        VpcId: vpcId,
        Tags: tags({
          Name: `private-${zone}.${name}`,
          'kubernetes.io/kops/role': `private-${zone}`,
        }),
      },
    };
    resources[`PrivateDefaultRoute${z}`] = {
      Type: 'AWS::EC2::Route',
      Properties: {
        RouteTableId: { Ref: `PrivateRouteTable${z}` },
        DestinationCidrBlock: '0.0.0.0/0',
        ...route,
      },
    };
  }
  if (problems.length > 0) throw new SpecInvalidError(problems);
  for (const subnet of routed) {
    const table = isPublic(subnet)
      ? 'PublicRouteTable'
      : `PrivateRouteTable${logicalId('', subnet.zone)}`;
    resources[subnetLogicalIds(subnet.name).routeTableAssociation] = {
      Type: 'AWS::EC2::SubnetRouteTableAssociation',
      Properties: { SubnetId: { Ref: subnetOutputKey(subnet.name) }, RouteTableId: { Ref: table } },
    };
  }
  return { resources, outputs, vpcId, ...(gatewayAttachment ? { gatewayAttachment } : {}) };
}
