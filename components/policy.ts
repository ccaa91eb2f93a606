/**
 * The tenant admission policy pack, wired: one policy and one binding per rule, once per cluster,
 * whatever the number of tenants. What they say is in manifests/policy.ts; each tenant's values
 * are annotations on its namespaces (Tenant, `tenantPolicyAnnotations`).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { InCluster } from "./cluster";
import { admissionPolicy, POLICY_RULES, policyBinding } from "./manifests/policy";

export class AdmissionPolicies extends pulumi.ComponentResource {
  /**
   * Every binding, each made after its policy and deleted before it: what a tenant's first Flux
   * object waits for, so it is made once every rule is in force, and on removal it goes first.
   * Not the policies too: each would be one more dependency URN in each tenant's state, and
   * order nothing the bindings' own dependencies do not.
   */
  readonly ready: pulumi.Resource[];

  constructor(name: string, args: { readonly inCluster: InCluster }, opts?: pulumi.ComponentResourceOptions) {
    super("fleet:policy:AdmissionPolicies", name, {}, opts);
    const k8sOpts = { parent: this, ...args.inCluster };
    this.ready = POLICY_RULES.map((rule) => {
      const policy = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(rule.name, admissionPolicy(rule), k8sOpts);
      return new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(rule.name, policyBinding(rule), { ...k8sOpts, dependsOn: [policy] });
    });
    this.registerOutputs({});
  }
}
