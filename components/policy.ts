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
 * namespaces, with the shared policies and bindings after them. Returned for the tenant's first
 * Flux object to depend on: it is made once every rule is in force, and on removal it goes first.
 * A binding waits for its own policy only: the shared ones are the Flux object's to wait for, once,
 * not each binding's (a dependency per binding and shared rule was 14 URNs in the state of each
 * binding, five bindings per tenant, and ordered nothing the Flux object's own wait does not).
 * The policies start when the tenant's other cluster objects start (Tenant's `after`, a start gate).
 */
export function tenantAdmission(parent: pulumi.Resource, inCluster: InCluster, policies: AdmissionPolicies, after: pulumi.Input<pulumi.Resource[]>, params: TenantPolicyParams): pulumi.Resource[] {
  const k8sOpts = { parent, ...inCluster };
  const own = POLICY_RULES.filter((rule) => rule.perTenant).flatMap((rule) => {
    const name = policyName(rule, params.tenant);
    const policy = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(name, admissionPolicy(rule, params), { ...k8sOpts, dependsOn: after });
    return [policy, new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(name, policyBinding(rule, params.tenant), { ...k8sOpts, dependsOn: [policy] })];
  });
  return [...own, ...policies.ready];
}
