/**
 * The AMIs the local backend's EC2 knows (moto's `MOTO_AMIS_PATH` format). Named as Canonical
 * publishes them, so `image: 099720109477/ubuntu/images/...` resolves the way it does on AWS.
 */
const CANONICAL = '099720109477';

function ubuntu(amiId: string, name: string, created: string) {
  return {
    ami_id: amiId,
    name,
    description: `Canonical, ${name}`,
    owner_id: CANONICAL,
    public: true,
    virtualization_type: 'hvm',
    architecture: 'x86_64',
    state: 'available',
    platform: null,
    hypervisor: 'xen',
    root_device_name: '/dev/sda1',
    root_device_type: 'ebs',
    sriov: 'simple',
    creation_date: created,
  };
}

export const LOCAL_IMAGES = [
  ubuntu(
    'ami-0a1b2c3d4e5f60001',
    'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610',
    '2025-06-10T00:00:00.000Z',
  ),
  ubuntu(
    'ami-0a1b2c3d4e5f60002',
    'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20260714',
    '2026-07-14T00:00:00.000Z',
  ),
  ubuntu(
    'ami-0a1b2c3d4e5f60003',
    'ubuntu/images/hvm-ssd-gp3/ubuntu-resolute-26.04-amd64-server-20220404',
    '2022-04-04T00:00:00.000Z',
  ),
];
