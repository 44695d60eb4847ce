import type { AnyStateMachineName } from '../functions-registry.js';
import { type Machine, render } from './asl.js';
import { createCluster } from './machines/create-cluster.js';
import { deleteCluster } from './machines/delete-cluster.js';
import { rollingUpdate } from './machines/rolling-update.js';
import { rollingUpdateGroup } from './machines/rolling-update-group.js';
import { updateCluster } from './machines/update-cluster.js';

/** Every state machine, built: statemachines/<name>.asl.json is `render(MACHINES[name]())`. */
export const MACHINES: Record<AnyStateMachineName, () => Machine> = {
  'create-cluster': createCluster,
  'update-cluster': updateCluster,
  'rolling-update': rollingUpdate,
  'rolling-update-group': rollingUpdateGroup,
  'delete-cluster': deleteCluster,
};

/** The file name and text of every machine, as `npm run build:asl` writes them. */
export function renderAll(): Array<{ file: string; text: string }> {
  return Object.entries(MACHINES).map(([name, build]) => ({
    file: `${name}.asl.json`,
    text: render(build()),
  }));
}
