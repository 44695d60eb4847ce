import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { ClusterStore } from '../../state/cluster-store.js';
import { s3ObjectStore } from '../../state/object-store.js';
import { startKubeSim } from './index.js';

// Process entry of the simulated API server when the local backend runs it detached:
// `KOPSLESS_KUBE_PORT`, `STATE_BUCKET` and the AWS endpoint come from the environment.
const port = Number(process.env.KOPSLESS_KUBE_PORT ?? '0');
const bucket = process.env.STATE_BUCKET;
if (!bucket) throw new Error('STATE_BUCKET is not set');
// It writes what a control plane publishes (the admin kubeconfig, the etcd client) under the secrets key.
const secretsKey = process.env.SECRETS_KEY_ARN;
const objects = s3ObjectStore(new S3Client({}), bucket, secretsKey ? { secretsKey } : {});
const sim = await startKubeSim({
  ec2: new EC2Client({}),
  store: new ClusterStore(objects),
  objects,
  port,
});
process.stdout.write(`kube-sim listening on 127.0.0.1:${sim.port}\n`);
// The periodic sync timer is unref'd; the server keeps the process alive until it is stopped.
process.on('SIGTERM', () => void sim.close().then(() => process.exit(0)));
