import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkManifest } from '../../src/manifest/check.js';
import { clusterApiShim, SHIM_HANDLER } from '../../src/planning/cluster-api-shim.js';
import { clusterApiFunctionName, clusterApiRoleName } from '../../src/planning/names.js';
import { renderStackTemplate } from '../../src/planning/stack-template.js';
import { readReference } from '../helpers.js';

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };
type Template = { Resources: Record<string, Resource> };

const LAYER = 'arn:aws:lambda:us-east-1:123456789012:layer:kopsless-cluster-api:7';

function render(text: string, layer?: string): Template {
  const check = checkManifest(text);
  return renderStackTemplate({
    manifest: check.completed!,
    stateBucket: 'state-bucket',
    ...(layer ? { clusterApiLayerArn: layer } : {}),
  }) as Template;
}

const privateCluster = () => readReference('create_cluster_private.yaml');
const clusterName = (text: string) => checkManifest(text).completed!.cluster.metadata.name;

describe('cluster API function in the cluster stack', () => {
  it('is left out when the deployment gives no layer (the local backend)', () => {
    const template = render(privateCluster());

    expect(template.Resources.ClusterApiFunction).toBeUndefined();
    expect(template.Resources.ClusterApiRole).toBeUndefined();
  });

  it("runs the deployment's layer through the inline shim, on the private subnets only", () => {
    const text = privateCluster();
    const template = render(text, LAYER);
    const fn = template.Resources.ClusterApiFunction!;
    const subnets = Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::EC2::Subnet')
      .map(([id, r]) => ({ id, type: r.Properties.Tags.find((t: any) => t.Key === 'SubnetType') }));

    expect(fn.Properties).toMatchObject({
      FunctionName: clusterApiFunctionName(clusterName(text)),
      Handler: SHIM_HANDLER,
      Code: { ZipFile: clusterApiShim() },
      Layers: [LAYER],
      Runtime: 'nodejs22.x',
    });
    expect(fn.Properties.VpcConfig.SubnetIds).toEqual(
      subnets.filter((s) => s.type?.Value === 'Private').map((s) => ({ Ref: s.id })),
    );
    expect(fn.Properties.Environment.Variables.API_SERVER_HOST).toBe(
      `api.internal.${clusterName(text)}`,
    );
    expect(fn.Properties.Environment.Variables.VPC_CIDRS).toMatch(/^[0-9.]+\/\d+$/);
    expect(fn.Properties.Environment.Variables.VPC_CIDRS).toBe(
      checkManifest(text).completed!.cluster.spec.networkCIDR,
    );
  });

  it('serves etcd through an alias of the same function, on $LATEST', () => {
    const template = render(privateCluster(), LAYER);

    expect(template.Resources.ClusterApiEtcdAlias).toMatchObject({
      Type: 'AWS::Lambda::Alias',
      Properties: {
        FunctionName: { Ref: 'ClusterApiFunction' },
        FunctionVersion: '$LATEST',
        Name: 'etcd',
      },
    });
  });

  it("gives the function a bounded role that reads only its cluster's kubeconfig and etcd client", () => {
    const text = privateCluster();
    const role = render(text, LAYER).Resources.ClusterApiRole!.Properties;
    const statements = role.Policies[0].PolicyDocument.Statement as Array<Record<string, any>>;
    const s3 = statements.filter((s) => String(s.Action).startsWith('s3:'));
    const kms = statements.find((s) => s.Action === 'kms:Decrypt')!;

    expect(role.RoleName).toBe(clusterApiRoleName(clusterName(text)));
    expect(role.Path).toBe('/kopsless/');
    expect(role.PermissionsBoundary).toBeDefined();
    expect(s3).toEqual([
      {
        Sid: 'OwnKubeconfigAndEtcdClient',
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: [
          `arn:aws:s3:::state-bucket/${clusterName(text)}/secrets/kubeconfig`,
          `arn:aws:s3:::state-bucket/${clusterName(text)}/secrets/etcd-client.json`,
        ],
      },
    ]);
    expect(kms.Condition.StringEquals['kms:ViaService']).toBeDefined();
    const eni = statements.find((s) => s.Sid === 'LambdaInterfacesInOwnVpc')!;
    expect(eni.Condition.ArnEquals['ec2:Vpc']).toBeDefined();
  });

  it('lets the control plane admit the function on 443 and reaches S3 without NAT', () => {
    const template = render(privateCluster(), LAYER);
    const ingress = template.Resources.MastersFromClusterApi!.Properties;
    const endpoint = template.Resources.StateStoreEndpoint!.Properties;
    const routeTables = Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::EC2::RouteTable')
      .map(([id]) => ({ Ref: id }))
      .sort((a, b) => a.Ref.localeCompare(b.Ref));

    expect(ingress).toMatchObject({ FromPort: 443, ToPort: 443, IpProtocol: 'tcp' });
    expect(endpoint.VpcEndpointType).toBe('Gateway');
    expect(endpoint.RouteTableIds).toEqual(routeTables);
    expect(template.Resources.ClusterApiFunction!.DependsOn).toEqual(['StateStoreEndpoint']);
  });

  it("opens etcd's member API (2379) between the function and the control plane, and nothing wider", () => {
    const template = render(privateCluster(), LAYER);
    const ingress = template.Resources.MastersEtcdFromClusterApi!.Properties;
    const egress = template.Resources.ClusterApiSecurityGroup!.Properties.SecurityGroupEgress;

    expect(ingress).toEqual(
      expect.objectContaining({
        GroupId: { 'Fn::GetAtt': ['MastersSecurityGroup', 'GroupId'] },
        SourceSecurityGroupId: { 'Fn::GetAtt': ['ClusterApiSecurityGroup', 'GroupId'] },
        IpProtocol: 'tcp',
        FromPort: 2379,
        ToPort: 2379,
      }),
    );
    expect(egress).toContainEqual(
      expect.objectContaining({
        FromPort: 2379,
        ToPort: 2379,
        DestinationSecurityGroupId: { 'Fn::GetAtt': ['MastersSecurityGroup', 'GroupId'] },
      }),
    );
    expect(egress.filter((r: Record<string, unknown>) => r.CidrIp)).toEqual([
      expect.objectContaining({ FromPort: 443, ToPort: 443 }),
    ]);
  });

  it('passes cfn-lint', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kopsless-stack-'));
    const file = join(dir, 'stack.json');
    writeFileSync(file, JSON.stringify(render(privateCluster(), LAYER)));

    // cfn-lint exits non-zero with its findings; the manifest's zones (W3010) are the user's.
    expect(() =>
      execFileSync('cfn-lint', ['--regions', 'us-east-1', '--ignore-checks', 'W3010', '--', file], {
        encoding: 'utf8',
      }),
    ).not.toThrow();
  });
});
