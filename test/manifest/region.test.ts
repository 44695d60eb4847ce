import { describe, expect, it } from 'vitest';
import { SpecInvalidError } from '../../src/errors.js';
import { checkManifest } from '../../src/manifest/check.js';
import { type CreateClusterFlags, manifestFromFlags } from '../../src/manifest/create-cluster.js';
import {
  regionMismatch,
  regionOfZone,
  regionOfZones,
  subnetZones,
} from '../../src/manifest/region.js';
import { toManifestYaml } from '../../src/manifest/yaml.js';
import { preflight, type ValidateSpecDeps } from '../../src/stages/validate-spec.js';

const seoul: CreateClusterFlags = {
  name: 'seoul.example.com',
  zones: ['ap-northeast-2a', 'ap-northeast-2c'],
  networking: 'amazonvpc',
  dns: 'none',
};

describe('the region of availability zones, as kOps finds it', () => {
  it('is the zone name without its last letter', () => {
    expect(regionOfZone('ap-northeast-2c')).toBe('ap-northeast-2');
    expect(regionOfZone('us-gov-west-1a')).toBe('us-gov-west-1');
  });

  it('is the one region of --zones', () => {
    expect(regionOfZones(['ap-northeast-2a', 'ap-northeast-2c'])).toEqual({
      region: 'ap-northeast-2',
    });
  });

  it('is none for no zones', () => {
    expect(regionOfZones([])).toEqual({});
  });

  it('is refused for zones of two regions, naming the zones of each', () => {
    expect(regionOfZones(['ap-northeast-2a', 'us-east-1b', 'ap-northeast-2c']).issue).toEqual({
      path: '--zones',
      message:
        'Invalid value: "ap-northeast-2a,us-east-1b,ap-northeast-2c": clusters cannot span multiple regions (ap-northeast-2a, ap-northeast-2c in ap-northeast-2; us-east-1b in us-east-1)',
    });
  });

  it('makes create cluster flags across regions an invalid spec on --zones', () => {
    const build = () => manifestFromFlags({ ...seoul, zones: ['ap-northeast-2a', 'eu-west-1a'] });

    expect(build).toThrow(SpecInvalidError);
    expect(build).toThrow(/clusters cannot span multiple regions/);
  });

  it('reads the zones of a manifest from its subnets', () => {
    const manifest = manifestFromFlags(seoul);

    expect(new Set(subnetZones(manifest.cluster.spec))).toEqual(
      new Set(['ap-northeast-2a', 'ap-northeast-2c']),
    );
  });
});

describe('a cluster whose zones are in another region than kopsless', () => {
  const manifest = manifestFromFlags(seoul);

  it('is no mismatch in its own region', () => {
    expect(regionMismatch(manifest.cluster.spec, 'ap-northeast-2')).toBeUndefined();
  });

  it('is a mismatch naming the zones, their region and kopsless region', () => {
    const issue = regionMismatch(manifest.cluster.spec, 'us-east-1');

    expect(issue?.path).toMatch(/^spec\.subnets\[\d+\]\.zone$/);
    expect(issue?.message).toContain('zones ap-northeast-2a, ap-northeast-2c');
    expect(issue?.message).toContain('are in ap-northeast-2, but kopsless runs in us-east-1');
  });

  it('is refused by the create preflight before anything is asked of AWS', async () => {
    const text = [manifest.cluster, ...manifest.instanceGroups].map(toManifestYaml).join('---\n');
    const completed = checkManifest(text).completed;
    const untouchable = () => {
      throw new Error('no AWS call expected');
    };
    const deps: ValidateSpecDeps = {
      ec2: {
        availabilityZones: untouchable,
        describeInstanceTypes: untouchable,
        findImage: untouchable,
      },
      dns: { listHostedZones: untouchable },
      region: 'us-east-1',
    };

    const issues = await preflight(completed!, deps);

    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toContain('kopsless runs in us-east-1');
  });
});
