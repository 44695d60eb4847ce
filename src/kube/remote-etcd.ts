import type { ClusterApiInvoker, ClusterApiResults } from './cluster-api-protocol.js';
import type { ClusterEtcd } from './etcd.js';
import { rebuild } from './remote-port.js';

/**
 * A cluster's etcd as the shared functions reach it: each call is one request to the cluster's
 * API function, which alone holds the etcd client certificate and dials the member API from
 * inside the cluster's VPC (docs/network-path.md). A member is named by the control-plane
 * instance it runs on; the function finds the member and the address to dial itself.
 */
export function remoteEtcd(cluster: string, invoke: ClusterApiInvoker): ClusterEtcd {
  return {
    async listMembers() {
      const answer = await invoke({ cluster, action: 'listEtcdMembers' });
      if (!answer.ok) throw rebuild(answer.error, 'listEtcdMembers');
      const result = answer.result as ClusterApiResults['listEtcdMembers'];
      return result.published ? result.members : undefined;
    },
    async removeMemberOf(instanceId) {
      const answer = await invoke({ cluster, action: 'removeEtcdMember', instanceId });
      if (!answer.ok) throw rebuild(answer.error, `removeEtcdMember ${instanceId}`);
      return (answer.result as ClusterApiResults['removeEtcdMember']).removed;
    },
  };
}
