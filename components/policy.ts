/**
 * The tenant admission policy pack, wired: the policies and the bindings every tenant shares
 * (`AdmissionPolicies`, once per cluster), and each tenant's own policies and bindings
 * (`tenantAdmission`, under the tenant). What they say is in manifests/policy.ts.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { InCluster } from "./cluster";
import { admissionPolicy, POLICY_RULES, policyBinding, policyName, TenantPolicyParams } from "./manifests/policy";

export class AdmissionPolicies extends pulumi.ComponentResource {
  /** Every shared policy and binding: what a tenant's own wait for. */
  readonly ready: pulumi.Resource[];

  constructor(name: string, args: { readonly inCluster: InCluster }, opts?: pulumi.ComponentResourceOptions) {
    super("fleet:policy:AdmissionPolicies", name, {}, opts);
    const k8sOpts = { parent: this, ...args.inCluster };
    this.ready = POLICY_RULES.filter((rule) => !rule.perTenant).flatMap((rule) => {
      const policy = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(rule.name, admissionPolicy(rule), k8sOpts);
      return [policy, new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(rule.name, policyBinding(rule), { ...k8sOpts, dependsOn: [policy] })];
    });
    this.registerOutputs({});
  }
}

/**
 * One tenant's policies of the per-tenant rules, its values compiled in, and their bindings to its
 * namespaces. Returned for the tenant's Flux objects to depend on: they are made once the rules
 * are in force, and on removal they go first.
 */
export function tenantAdmission(parent: pulumi.Resource, inCluster: InCluster, policies: AdmissionPolicies, params: TenantPolicyParams): pulumi.Resource[] {
  const k8sOpts = { parent, ...inCluster };
  return POLICY_RULES.filter((rule) => rule.perTenant).flatMap((rule) => {
    const name = policyName(rule, params.tenant);
    const policy = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(name, admissionPolicy(rule, params), k8sOpts);
    return [policy, new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(name, policyBinding(rule, params.tenant), { ...k8sOpts, dependsOn: [policy, ...policies.ready] })];
  });
}
