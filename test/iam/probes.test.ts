import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readTemplate } from '../support/template.js';
import { formatProbeResult, ProbeFileError, parseProbes, runProbes } from './probes.js';

const deployment = { stateBucket: 'kopsless-state-example' };
const probeFile = (name: string) =>
  parseProbes(readFileSync(new URL(`./probes/${name}`, import.meta.url), 'utf8'), name);
const lines = async (name: string) =>
  (await runProbes(probeFile(name), readTemplate(), deployment)).map(formatProbeResult);

describe('check:iam --probes', () => {
  it('denies every role each request that reaches across clusters, deployments or into IAM', async () => {
    const results = await lines('cross-cluster.json');

    expect(results.length).toBeGreaterThan(100);
    expect(results.filter((line) => !line.startsWith('DENIED '))).toEqual([]);
  }, 120_000);

  it("allows the same requests on the cluster's own resources, to the role that makes them", async () => {
    const results = await lines('own-cluster.json');

    expect(results.filter((line) => !line.startsWith('ALLOWED '))).toEqual([]);
  }, 60_000);

  it('still allows what safety.md lists as open: subnets in a VPC no kopsless cluster has tagged, names no tag binds, untagged groups', async () => {
    const results = await lines('open.json');

    expect(results).toEqual([
      expect.stringMatching(/^ALLOWED ClusterStackRole ec2:CreateSubnet /),
      // Another cluster's group, launch template and load balancer names, tagged for this one.
      expect.stringMatching(/^ALLOWED LaunchClusterActorRole autoscaling:CreateAutoScalingGroup /),
      expect.stringMatching(/^ALLOWED LaunchClusterActorRole ec2:CreateLaunchTemplate /),
      expect.stringMatching(/^ALLOWED ClusterStackRole elasticloadbalancing:CreateLoadBalancer /),
      // An untagged kopsless-* group made by hand: a new group's tags are authorized before
      // it has any, so tags cannot be required on the group.
      expect.stringMatching(/^ALLOWED LaunchClusterActorRole autoscaling:CreateOrUpdateTags /),
    ]);
  }, 60_000);

  it('evaluates CloudFormation as the stack role of the cluster the probe acts for', async () => {
    const results = await runProbes(
      parseProbes(
        JSON.stringify(
          ['a.example.com', 'b.example.com'].map((cluster) => ({
            actingFor: cluster,
            principal: 'ClusterStackRole',
            action: 'ec2:DeleteSecurityGroup',
            resource: 'arn:aws:ec2:${Region}:${Account}:security-group/sg-0123456789abcdef0',
            context: {
              'aws:ResourceTag/kopsless.io/owner': 'kopsless',
              'aws:ResourceTag/KubernetesCluster': 'a.example.com',
            },
          })),
        ),
      ),
      readTemplate(),
      deployment,
    );

    expect(results.map((r) => r.decision)).toEqual(['ALLOWED', 'DENIED']);
  });

  it('prints one line per role, with the substituted resource', async () => {
    const results = await runProbes(
      parseProbes(
        JSON.stringify([
          {
            actingFor: 'a.example.com',
            principal: 'NodesRole',
            action: 's3:GetObject',
            resource: 'arn:aws:s3:::${StateBucket}/a.example.com/secrets/bootstrap-token',
          },
        ]),
      ),
      readTemplate(),
      deployment,
    );

    expect(results.map(formatProbeResult)).toEqual([
      'ALLOWED NodesRole s3:GetObject arn:aws:s3:::kopsless-state-example/a.example.com/secrets/bootstrap-token',
    ]);
  });

  it.each([
    ['not JSON', '{', 'probes: not JSON'],
    ['an empty list', '[]', 'probes: Array must contain at least 1 element(s)'],
    [
      'a probe without a principal',
      '[{"actingFor":"a.b","action":"s3:GetObject","resource":"*"}]',
      'probes[0].principal: Required',
    ],
    [
      'an action without a service',
      '[{"actingFor":"a.b","principal":"*","action":"GetObject","resource":"*"}]',
      'probes[0].action: must be <service>:<Action>',
    ],
    [
      'an unknown field',
      '[{"actingFor":"a.b","principal":"*","action":"s3:GetObject","resource":"*","effect":"Allow"}]',
      "probes[0]: Unrecognized key(s) in object: 'effect'",
    ],
  ])('refuses %s, naming the place', (_, text, message) => {
    expect(() => parseProbes(text)).toThrow(ProbeFileError);
    expect(() => parseProbes(text)).toThrow(message);
  });

  it('refuses a principal no role has, listing the roles', async () => {
    const probes = parseProbes(
      '[{"actingFor":"a.example.com","principal":"AdminRole","action":"s3:GetObject","resource":"*"}]',
    );

    await expect(runProbes(probes, readTemplate(), deployment)).rejects.toThrow(
      /probes\[0\]\.principal: no role "AdminRole" \(one of: .*NodesRole.*, or \*\)/,
    );
  });
});
