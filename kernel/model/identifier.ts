/** Identifiers: every registered entity is named by project, domain, name and version. */

/** Registered entity kinds. */
export type ResourceType = "task" | "workflow" | "launch_plan";

/** The full identity of a registered entity; versions are immutable. */
export interface Identifier {
  resourceType: ResourceType;
  project: string;
  domain: string;
  name: string;
  version: string;
}

/** A reference from one spec to another, by name; the version is pinned at registration. */
export interface EntityRef {
  resourceType: ResourceType;
  name: string;
  version?: string;
}

/** The default domains, in promotion order. */
export const DEFAULT_DOMAINS = ["development", "staging", "production"] as const;

/** Names: lowercase-friendly identifiers, also used in Kubernetes labels, so kept conservative. */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/** Renders `project/domain/name@version`. */
export function identifierToString(id: Identifier): string {
  return `${id.project}/${id.domain}/${id.name}@${id.version}`;
}
