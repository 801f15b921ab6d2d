/** Turning a definition's entity registry into what the local engine looks up. */
import type { LocalEntities, LocalTask } from "../local/index.js";
import type { LaunchPlanSpec, WorkflowSpec } from "../model/index.js";
import type { EntityRegistry } from "./scope.js";

/** Anything in a registry that has a compiled spec. */
interface WithSpec<S> {
  readonly spec: S;
}

/** The local engine's view of a registry. */
export function localEntities(registry: EntityRegistry): LocalEntities {
  return {
    task: (name) => registry.tasks.get(name) as LocalTask | undefined,
    workflow: (name) => (registry.workflows.get(name) as WithSpec<WorkflowSpec> | undefined)?.spec,
    launchPlan: (name) => (registry.launchPlans.get(name) as WithSpec<LaunchPlanSpec> | undefined)?.spec,
  };
}
