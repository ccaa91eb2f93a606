/**
 * The tenant template repository: created once by the stack that owns the fleet repository, with
 * the seed's layout (README, flux/, kustomize/, helm/), marked as a template. Every tenant
 * repository the fleet creates is generated from it, so a new tenant costs one repository
 * request instead of one commit per file. Other stacks look it up, loudly.
 */
import * as pulumi from "@pulumi/pulumi";
import { ExistingRepository } from "./adopt";
import { Visibility } from "../config";
import { TENANT_TEMPLATE_BRANCH, tenantTemplateLayout } from "../manifests";
import { commitFiles, createRepository, lookUpRepository } from "./repository";

export interface TenantTemplateArgs {
  readonly owner: string;
  /** Repository name (`fleet:repository.tenantTemplate`). */
  readonly name: string;
  /** true: this stack owns the fleet repository and creates the template. */
  readonly create: boolean;
  readonly visibility: Visibility;
  /** The stack, for commit messages. */
  readonly stack: string;
  /** Environments whose `flux/<environment>/kustomization.yaml` the template holds (created only). */
  readonly environments: readonly string[];
  /** The template as found on GitHub, when this stack would create it and it exists (adopt.ts). */
  readonly existing?: ExistingRepository;
}

export class TenantTemplate extends pulumi.ComponentResource {
  /** The template's name: known at once when created here; resolves once found when looked up. */
  readonly repositoryName: pulumi.Output<string>;
  /** What a repository generated from it waits for: the template and every file this stack commits. */
  readonly ready: readonly pulumi.Resource[];
  /** Branch a generated repository starts on. */
  readonly branch = TENANT_TEMPLATE_BRANCH;
  /**
   * Paths a repository generated from it starts with, as far as this stack knows: the files it
   * commits when it creates the template; none for a template it only looks up.
   */
  readonly files: ReadonlySet<string>;
  /** GitHub content writes its creation makes: the repository and its files; 0 when looked up. */
  readonly contentWrites: number;

  constructor(name: string, args: TenantTemplateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fleet:template:TenantTemplate", name, {}, opts);
    if (args.create) {
      const { repository, branchReady } = createRepository({ parent: this }, name, {
        owner: args.owner,
        name: args.name,
        description: "Template of the fleet's tenant deployment repositories: flux/, kustomize/, helm/",
        visibility: args.visibility,
        branch: TENANT_TEMPLATE_BRANCH,
        isTemplate: true,
        ...(args.existing ? { existing: args.existing } : {}),
      });
      const layout = tenantTemplateLayout(args.environments);
      this.files = new Set(layout.map((f) => f.path));
      this.contentWrites = 1 + layout.length;
      const files = commitFiles({ parent: this }, name, {
        owner: args.owner,
        repository: repository.name,
        branch: TENANT_TEMPLATE_BRANCH,
        stack: args.stack,
        files: layout,
        replaceInitialReadme: true,
        after: branchReady,
      });
      // Generation copies what is there: tenants are generated only once every file is committed.
      this.repositoryName = pulumi.output(args.name);
      this.ready = [repository, ...files];
    } else {
      this.files = new Set();
      this.contentWrites = 0;
      this.ready = [];
      this.repositoryName = pulumi.output(lookUpRepository(this, args.owner, args.name, "fleet:repository.create")).name;
    }
    this.registerOutputs({ repositoryName: this.repositoryName });
  }
}
