/**
 * The metadata store's contract: every record the control plane keeps, and the
 * one interface that SQLite and PostgreSQL both implement. Records are plain
 * data; times are epoch milliseconds (the API renders them as ISO strings).
 */
import type {
  BlobRef,
  CacheStatus,
  ExecutionPhase,
  FailureRecord,
  Identifier,
  LaunchPlanSpec,
  LiteralMap,
  NodePhase,
  ResourceType,
  TaskSpec,
  WorkflowSpec,
} from "../../kernel/index.js";

/** Project roles, weakest first: each role can do everything the ones before it can. */
export const ROLES = ["viewer", "editor", "admin"] as const;
/** A project role. */
export type Role = (typeof ROLES)[number];

/**
 * A role on a project. `domains` narrows it to those domains (promotion into a
 * domain needs editor there); absent, the role holds in every domain.
 */
export interface Grant {
  project: string;
  role: Role;
  domains?: string[];
}

/** A project: the unit of isolation. */
export interface ProjectRecord {
  name: string;
  description: string;
  labels: Record<string, string>;
  createdAt: number;
  createdBy: string;
}

/** Why a project refers to a blob. */
export type BlobKind = "bundle" | "data" | "literals" | "checkpoint";

/**
 * A project's claim on a content-addressed blob. Blobs are shared by hash in the
 * blob store, but a project sees only those it uploaded or produced.
 */
export interface ProjectBlobRecord {
  project: string;
  hash: string;
  size: number;
  kind: BlobKind;
  createdAt: number;
  createdBy: string;
}

/** The spec of any registered entity. */
export type EntitySpec = TaskSpec | WorkflowSpec | LaunchPlanSpec;

/** Who promoted an entity into its domain, from where and when. */
export interface Promotion {
  fromDomain: string;
  by: string;
  at: number;
}

/** A registered task, workflow or launch plan version. Immutable once stored (except `active`). */
export interface EntityRecord<S extends EntitySpec = EntitySpec> {
  id: Identifier;
  spec: S;
  /** `sha256:<hex>` of the code bundle, when the entity has one. */
  bundle?: string;
  /** `sha256` of the canonical {spec, bundle}: equal digests mean identical content. */
  digest: string;
  /** The exact versions of everything the spec names, pinned at registration. */
  references: Identifier[];
  createdAt: number;
  createdBy: string;
  promotedFrom?: Promotion;
  /** Launch plans only: whether this is the active version of its name. */
  active: boolean;
  /** Registration order in this store. */
  seq: number;
}

/** What registration needs; the store assigns `seq` and `active`. */
export type NewEntity = Omit<EntityRecord, "seq" | "active">;

/** The result of a registration: stored, already there with the same content, or a different content holds the version. */
export type RegisterResult =
  | { status: "created"; record: EntityRecord }
  | { status: "identical"; record: EntityRecord }
  | { status: "conflict"; existing: EntityRecord };

/** An entity name in a domain, with its newest version. */
export interface EntityNameSummary {
  name: string;
  latestVersion: string;
  versions: number;
  updatedAt: number;
}

/** One promotion, as the audit log keeps it. */
export interface PromotionRecord {
  id: Identifier;
  fromDomain: string;
  by: string;
  at: number;
}

/** Names an execution. */
export interface ExecutionKey {
  project: string;
  domain: string;
  name: string;
}

/**
 * Literals as stored: small maps inline, large ones as a JSON blob in the blob
 * store (resolved by the API's data layer, never by the store).
 */
export type StoredLiterals = { inline: LiteralMap } | { blob: { hash: string; size: number } };

/** How an execution came to be. */
export type ExecutionMode = "launch" | "relaunch" | "recover" | "schedule";

/** A recorded request to stop an execution. */
export interface AbortRecord {
  cause: string;
  by: string;
  at: number;
}

/** An execution of a workflow (directly or through a launch plan). */
export interface ExecutionRecord {
  key: ExecutionKey;
  seq: number;
  workflow: Identifier;
  launchPlan?: Identifier;
  phase: ExecutionPhase;
  mode: ExecutionMode;
  /** The execution this one relaunches or recovers. */
  source?: string;
  inputs: StoredLiterals;
  outputs?: StoredLiterals;
  error?: FailureRecord;
  abort?: AbortRecord;
  labels: Record<string, string>;
  maxParallelism?: number;
  /** Recompute cacheable tasks and replace their catalog entries. */
  overwriteCache?: boolean;
  /** The execution and node that launched this one (a launch plan node). */
  parent?: { execution: string; node: string };
  createdAt: number;
  createdBy: string;
  updatedAt: number;
  startedAt?: number;
  endedAt?: number;
}

/** What creating an execution needs; the store assigns `seq`. */
export type NewExecution = Omit<ExecutionRecord, "seq">;

/** Fields an update may change. */
export interface ExecutionPatch {
  phase?: ExecutionPhase;
  outputs?: StoredLiterals;
  error?: FailureRecord;
  abort?: AbortRecord;
  startedAt?: number;
  endedAt?: number;
  updatedAt: number;
}

/** A label condition: the key is present, and equals `value` when given. */
export interface LabelFilter {
  key: string;
  value?: string;
}

/** Which executions to list. Every present field must hold. */
export interface ExecutionFilter {
  project: string;
  domain?: string;
  phases?: ExecutionPhase[];
  workflow?: string;
  launchPlan?: string;
  labels?: LabelFilter[];
  /** Inclusive lower bound of createdAt (ms). */
  createdAfter?: number;
  /** Exclusive upper bound of createdAt (ms). */
  createdBefore?: number;
}

/** A page request: at most `limit` items after the opaque `cursor` of a previous page. */
export interface PageRequest {
  limit: number;
  cursor?: string;
}

/** One page; `next` is present when more items may follow. */
export interface Page<T> {
  items: T[];
  next?: string;
}

/** A node's cache outcome, with the reason of a miss. */
export interface NodeCacheInfo {
  status: CacheStatus;
  reason?: string;
  key?: string;
}

/** A node of an execution. */
export interface NodeExecutionRecord {
  execution: ExecutionKey;
  nodeId: string;
  phase: NodePhase;
  inputs?: StoredLiterals;
  outputs?: StoredLiterals;
  error?: FailureRecord;
  cache?: NodeCacheInfo;
  checkpoint?: BlobRef;
  /** What the node runs: the task of a task node or map instance, the workflow of a subworkflow. */
  target?: Identifier;
  /** The child execution a launch plan node started. */
  child?: string;
  /** Attempts started so far. */
  attempts: number;
  createdAt: number;
  updatedAt: number;
  startedAt?: number;
  endedAt?: number;
}

/** One attempt of a node. */
export interface NodeAttemptRecord {
  execution: ExecutionKey;
  nodeId: string;
  /** 0-based. */
  attempt: number;
  phase: NodePhase;
  error?: FailureRecord;
  /** Where to read this attempt's logs (name to URL or path). */
  logs?: Record<string, string>;
  /** Which runner holds the attempt and how to find it again after a restart. */
  runner?: RunnerHandle;
  startedAt?: number;
  endedAt?: number;
  updatedAt: number;
}

/** A runner's handle on an attempt: enough to re-attach to it or know it is gone. */
export interface RunnerHandle {
  /** The runner's kind (`local-process`, `kubernetes-pod`). */
  kind: string;
  /** The runner's id for the attempt (a pid, a pod name). */
  id: string;
  /** Runner-specific facts (the host, a log file). */
  info?: Record<string, string>;
}

/** Token kinds: the bootstrap admin, people and scripts, and the one node a running task is. */
export type TokenKind = "admin" | "user" | "node";

/** What a node token may touch: one node of one execution. */
export interface NodeScope {
  project: string;
  domain: string;
  execution: string;
  node: string;
}

/** A bearer token; the store keeps only a hash of its secret. */
export interface TokenRecord {
  id: string;
  name: string;
  kind: TokenKind;
  grants: Grant[];
  scope?: NodeScope;
  createdAt: number;
  createdBy: string;
  expiresAt?: number;
  revokedAt?: number;
}

/** What creating a token needs. `secret` is generated unless given (the bootstrap admin token is). */
export interface NewToken {
  name: string;
  kind: TokenKind;
  grants?: Grant[];
  scope?: NodeScope;
  createdBy: string;
  expiresAt?: number;
  secret?: string;
}

/** A created token: the secret is shown once, here. */
export interface CreatedToken {
  token: string;
  record: TokenRecord;
}

/** What the engine passes to mint a token for one running node. */
export interface NewNodeToken {
  execution: ExecutionKey;
  node: string;
  /** Who asks (the engine's name), for the audit trail. */
  createdBy?: string;
  /** Lifetime; default {@link DEFAULT_NODE_TOKEN_TTL_MS}. */
  ttlMs?: number;
}

/** Node tokens live as long as a long task attempt, then stop working. */
export const DEFAULT_NODE_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;

/** Names a schedule: one per launch plan name (its versions share it), in a project and domain. */
export interface ScheduleKey {
  project: string;
  domain: string;
  launchPlan: string;
}

/**
 * Where a launch plan's schedule stands. It belongs to the name, not a version:
 * activating another version re-anchors it but keeps `lastTick`, so no tick fires twice.
 */
export interface ScheduleStateRecord extends ScheduleKey {
  /** The version that was active when the state was last anchored. */
  version: string;
  /** When that version was activated: a fixed rate ticks at anchor + k·everyMs (k ≥ 1). */
  anchor: number;
  /** The latest tick already considered (fired, skipped or missed); only later ticks are due. */
  lastTick: number;
  updatedAt: number;
}

/** What became of one tick: an execution was created, the tick was skipped (the previous run still ran), missed (catch-up policy), or failed (the execution could not be created). */
export type ScheduleOutcome = "fired" | "skipped" | "missed" | "failed";

/** The recorded outcome of one tick of a schedule. The first recorded outcome of a tick stands. */
export interface ScheduleRunRecord extends ScheduleKey {
  /** The scheduled time (epoch ms). */
  tick: number;
  /** The launch plan version the tick belongs to. */
  version: string;
  outcome: ScheduleOutcome;
  /** The execution's name (fired ticks). */
  execution?: string;
  /** Why it was skipped, missed or failed. */
  reason?: string;
  recordedAt: number;
}

/** Which active launch plans to list. */
export interface ActiveLaunchPlanFilter {
  project: string;
  domain?: string;
}

/** Row counts per table: how tests prove that a rejected request changed nothing. */
export type StoreCounts = Record<string, number>;

/**
 * The control plane's durable state. Two implementations, one contract
 * (test/backend/store.contract.ts): {@link createSqliteStore} and
 * {@link createPostgresStore}. Every write that touches several rows is one
 * transaction; `transaction()` runs a caller's group of writes the same way.
 */
export interface MetadataStore {
  readonly kind: "sqlite" | "postgres";

  /** Runs `fn` in one transaction: all its writes commit together or none do. Nested calls join the outer one. */
  transaction<T>(fn: (tx: MetadataStore) => Promise<T>): Promise<T>;
  /** The schema version reached by migrations. */
  schemaVersion(): Promise<number>;
  counts(): Promise<StoreCounts>;
  close(): Promise<void>;

  // ---- projects ------------------------------------------------------------
  /** Creates a project; `false` when the name is taken (nothing changes). */
  createProject(project: ProjectRecord): Promise<boolean>;
  getProject(name: string): Promise<ProjectRecord | undefined>;
  /** Projects by name; only `names` when given. */
  listProjects(names?: readonly string[]): Promise<ProjectRecord[]>;

  // ---- blobs a project may see ------------------------------------------------
  /** Records a project's claim on a blob (a no-op when it exists). */
  addProjectBlob(blob: ProjectBlobRecord): Promise<void>;
  getProjectBlob(project: string, hash: string): Promise<ProjectBlobRecord | undefined>;

  // ---- tasks, workflows, launch plans ----------------------------------------
  /** Stores an entity version unless the version exists; says whether the existing content is identical. */
  registerEntity(entity: NewEntity): Promise<RegisterResult>;
  getEntity(id: Identifier): Promise<EntityRecord | undefined>;
  /** The most recently registered version of a name. */
  latestEntity(resourceType: ResourceType, project: string, domain: string, name: string): Promise<EntityRecord | undefined>;
  /** Versions of a name, newest first. */
  listEntityVersions(resourceType: ResourceType, project: string, domain: string, name: string, page: PageRequest): Promise<Page<EntityRecord>>;
  /** Names of one resource type in a domain, alphabetically. */
  listEntityNames(resourceType: ResourceType, project: string, domain: string, page: PageRequest): Promise<Page<EntityNameSummary>>;
  /**
   * Makes `id` (a launch plan) the active version of its name, or deactivates it.
   * At most one version per name is active. Returns the version that was active
   * before, or `undefined` when `id` does not exist (nothing changes).
   *
   * When the active version changes, the name's schedule state is re-anchored in
   * the same transaction: anchor = now, version = `id.version`, and lastTick moves
   * up to now (ticks before an activation are not the new version's to fire, and
   * a tick already considered stays considered). Deactivating leaves it alone.
   */
  setLaunchPlanActive(id: Identifier, active: boolean): Promise<{ previous: string | null } | undefined>;
  getActiveLaunchPlan(project: string, domain: string, name: string): Promise<EntityRecord | undefined>;
  /** Every active launch plan (what a scheduler reads on each pass), or those of one project (and domain). */
  listActiveLaunchPlans(filter?: ActiveLaunchPlanFilter): Promise<EntityRecord[]>;
  recordPromotion(promotion: PromotionRecord): Promise<void>;
  listPromotions(project: string, name?: string): Promise<PromotionRecord[]>;

  // ---- executions -----------------------------------------------------------------
  /** Creates an execution; `undefined` when the name is taken in its project and domain. */
  createExecution(execution: NewExecution): Promise<ExecutionRecord | undefined>;
  getExecution(key: ExecutionKey): Promise<ExecutionRecord | undefined>;
  /**
   * Newest first. The cursor is a position in creation order, so executions
   * created while a client pages never shift or repeat the pages it has not read.
   */
  listExecutions(filter: ExecutionFilter, page: PageRequest): Promise<Page<ExecutionRecord>>;
  /**
   * Applies `patch` when the execution's phase is one of `ifPhase` (any phase
   * when absent). `updated: false` with the current record when the phase did
   * not match; `undefined` when there is no such execution.
   */
  updateExecution(
    key: ExecutionKey,
    patch: ExecutionPatch,
    ifPhase?: readonly ExecutionPhase[],
  ): Promise<{ updated: boolean; record: ExecutionRecord } | undefined>;

  /** Executions that are QUEUED or RUNNING, oldest first: what the engine resumes on start. */
  listUnfinishedExecutions(): Promise<ExecutionRecord[]>;

  // ---- nodes ----------------------------------------------------------------------
  /** Inserts or replaces a node's record; false when the execution does not exist. */
  putNodeExecution(node: NodeExecutionRecord): Promise<boolean>;
  getNodeExecution(execution: ExecutionKey, nodeId: string): Promise<NodeExecutionRecord | undefined>;
  listNodeExecutions(execution: ExecutionKey): Promise<NodeExecutionRecord[]>;
  /** Inserts or replaces one attempt; false when the execution does not exist. */
  putNodeAttempt(attempt: NodeAttemptRecord): Promise<boolean>;
  listNodeAttempts(execution: ExecutionKey, nodeId: string): Promise<NodeAttemptRecord[]>;

  // ---- schedules --------------------------------------------------------------------
  getScheduleState(key: ScheduleKey): Promise<ScheduleStateRecord | undefined>;
  /**
   * The schedule state for `version`: created (anchor and lastTick at `now`) when
   * there is none, re-anchored like an activation when it was anchored for another
   * version, else returned as stored. What a scheduler calls for a launch plan
   * activated before schedule state existed.
   */
  ensureScheduleState(key: ScheduleKey, version: string, now: number): Promise<ScheduleStateRecord>;
  /** Moves lastTick forward to `tick`; never back. False when it was already there or later, or there is no state. */
  advanceScheduleState(key: ScheduleKey, tick: number, now: number): Promise<boolean>;
  /**
   * Records a tick's outcome unless one is recorded. `claimed` says whether this
   * call recorded it; `run` is what is recorded (this one, or the earlier one that
   * stands). Two schedulers racing on a tick both get the same `run`.
   */
  claimScheduleRun(run: ScheduleRunRecord): Promise<{ claimed: boolean; run: ScheduleRunRecord }>;
  /** Changes a recorded tick's outcome and reason (a fire that failed for good); false when the tick is not recorded. */
  updateScheduleRun(key: ScheduleKey, tick: number, change: { outcome: ScheduleOutcome; reason?: string }): Promise<boolean>;
  /** Recorded ticks of a schedule, newest first. */
  listScheduleRuns(key: ScheduleKey, page: PageRequest): Promise<Page<ScheduleRunRecord>>;

  // ---- tokens ---------------------------------------------------------------------
  createToken(token: NewToken): Promise<CreatedToken>;
  /**
   * Mints a token scoped to one node of one execution: it can read that node's
   * inputs and bundle and write its outputs and checkpoints, nothing else. The
   * engine hands it to the task it starts.
   */
  createNodeToken(request: NewNodeToken): Promise<CreatedToken>;
  /** The live token for a secret: unknown, revoked and expired tokens give `undefined`. */
  authenticate(secret: string): Promise<TokenRecord | undefined>;
  getToken(id: string): Promise<TokenRecord | undefined>;
  /** Revokes a token; false when it does not exist. */
  revokeToken(id: string): Promise<boolean>;
  /** Revokes every live token of `kind` named `name` except `keepId` (rotating the bootstrap admin token). */
  revokeTokensNamed(kind: TokenKind, name: string, keepId: string): Promise<number>;
}
