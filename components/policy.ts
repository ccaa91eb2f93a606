/**
 * The tenant admission policy pack, wired: the policies and the bindings every tenant shares
 * (`AdmissionPolicies`, once per cluster), and each tenant's parameters and bindings
 * (`tenantAdmission`, under the tenant). What they say is in manifests/policy.ts.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { InCluster } from "./cluster";
import { FLUX_NAMESPACE } from "./constants";
import { admissionPolicy, POLICY_RULES, policyBinding, tenantPolicyParams, tenantPolicyParamsName, TenantPolicyParams } from "./manifests/policy";

export class AdmissionPolicies extends pulumi.ComponentResource {
  /** Every policy and shared binding: what a tenant's bindings wait for. */
  readonly ready: pulumi.Resource[];

  constructor(name: string, args: { readonly inCluster: InCluster }, opts?: pulumi.ComponentResourceOptions) {
    super("fleet:policy:AdmissionPolicies", name, {}, opts);
    const k8sOpts = { parent: this, ...args.inCluster };
    const policies = POLICY_RULES.map((rule) => new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(rule.name, admissionPolicy(rule), k8sOpts));
    const shared = POLICY_RULES.map((rule, i) =>
      rule.perTenant ? undefined : new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(rule.name, policyBinding(rule), { ...k8sOpts, dependsOn: [policies[i]] }),
    ).filter((b): b is k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding => b !== undefined);
    this.ready = [...policies, ...shared];
    this.registerOutputs({});
  }
}

/**
 * One tenant's parameters (a ConfigMap in flux-system, where no tenant can write) and its bindings
 * of the per-tenant rules. The bindings wait for the ConfigMap: a binding without it denies
 * everything it matches. Returned for the tenant's Flux objects to depend on, so that on removal
 * those are deleted (their finalizers lifted) while the bindings still have their parameters.
 */
export function tenantAdmission(parent: pulumi.Resource, inCluster: InCluster, policies: AdmissionPolicies, params: TenantPolicyParams): pulumi.Resource[] {
  const k8sOpts = { parent, ...inCluster };
  const config = new k8s.core.v1.ConfigMap(`${FLUX_NAMESPACE}/${tenantPolicyParamsName(params.tenant)}`, tenantPolicyParams(params), k8sOpts);
  const bindings = POLICY_RULES.filter((rule) => rule.perTenant).map(
    (rule) =>
      new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(`${rule.name}-${params.tenant}`, policyBinding(rule, params.tenant), {
        ...k8sOpts,
        dependsOn: [config, ...policies.ready],
      }),
  );
  return [config, ...bindings];
}
