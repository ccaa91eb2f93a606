/**
 * The fleet program: read and validate stack config, compose the components, export outputs.
 * Exported as a function so Pulumi runs it once per deployment and tests can run it per case.
 */
import { Cluster } from "./components/cluster";
import { loadStackConfig } from "./components/config";

export = async () => {
  const { config, kubeconfig } = loadStackConfig();
  const cluster = new Cluster(config.stack, { cluster: config.cluster, ...(kubeconfig ? { kubeconfig } : {}) });
  return {
    environment: config.stack,
    clusterType: config.cluster.type,
    kubeconfig: cluster.kubeconfig,
    endpoint: cluster.endpoint,
  };
};
