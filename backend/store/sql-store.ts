/**
 * The metadata store, written once in the SQL that SQLite and PostgreSQL share
 * (`INSERT ... ON CONFLICT`, `RETURNING`, partial unique indexes). Each dialect
 * supplies a {@link SqlDriver}; this file owns the schema's meaning.
 */
import { createHash, randomBytes } from "node:crypto";
import type { ExecutionPhase, Identifier, ResourceType } from "../../kernel/index.js";
import { systemClock, type Clock } from "../clock.js";
import { RetryableConflict, UniqueViolation, type SqlDriver, type SqlValue } from "./driver.js";
import { STORE_ERRORS, StoreError } from "./errors.js";
import { MIGRATIONS, TABLES, migrationSql } from "./migrations.js";
import {
  DEFAULT_NODE_TOKEN_TTL_MS,
  type CreatedToken,
  type EntityNameSummary,
  type EntityRecord,
  type ExecutionFilter,
  type ExecutionKey,
  type ExecutionPatch,
  type ExecutionRecord,
  type MetadataStore,
  type NewEntity,
  type NewExecution,
  type NewNodeToken,
  type NewToken,
  type NodeAttemptRecord,
  type NodeExecutionRecord,
  type Page,
  type PageRequest,
  type ProjectBlobRecord,
  type ProjectRecord,
  type PromotionRecord,
  type RegisterResult,
  type ActiveLaunchPlanFilter,
  type ScheduleKey,
  type ScheduleOutcome,
  type ScheduleRunRecord,
  type ScheduleStateRecord,
  type StoreCounts,
  type TokenKind,
  type TokenRecord,
} from "./types.js";

/** Applies pending migrations, then returns the store over `driver`. */
export async function openSqlStore(driver: SqlDriver, clock: Clock = systemClock): Promise<MetadataStore> {
  try {
    await migrate(driver, clock);
  } catch (error) {
    await driver.close();
    throw error;
  }
  return new SqlStore(driver, clock);
}

async function migrate(driver: SqlDriver, clock: Clock): Promise<void> {
  await driver.transaction(async (tx) => {
    await driver.lockForMigration(tx);
    await tx.exec("CREATE TABLE IF NOT EXISTS petrel_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
    const row = await tx.get<{ v: number | null }>("SELECT MAX(version) AS v FROM petrel_migrations");
    const current = row?.v ?? 0;
    const known = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    if (current > known) {
      throw new StoreError(
        STORE_ERRORS.SCHEMA_TOO_NEW,
        `the database schema is at version ${current}, newer than this server knows (${known}); upgrade the server`,
        { current, known },
      );
    }
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      await tx.exec(migrationSql(m, driver.dialect));
      await tx.run("INSERT INTO petrel_migrations (version, name, applied_at) VALUES (?, ?, ?)", [m.version, m.name, clock.now()]);
    }
  });
}

// ---- cursors ------------------------------------------------------------------

function encodeCursor(position: string | number): string {
  return Buffer.from(JSON.stringify({ p: position })).toString("base64url");
}

function decodeCursor<T extends string | number>(cursor: string | undefined, kind: "string" | "number"): T | undefined {
  if (cursor === undefined) return undefined;
  let position: unknown;
  try {
    position = (JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { p?: unknown }).p;
  } catch {
    position = undefined;
  }
  if (typeof position !== kind || (kind === "number" && !Number.isSafeInteger(position))) {
    throw new StoreError(STORE_ERRORS.BAD_CURSOR, `cursor: ${JSON.stringify(cursor.slice(0, 40))} is not a cursor of this list`, { field: "cursor" });
  }
  return position as T;
}

/** A page of `limit + 1` rows: the extra row only says that more exist. */
function pageOf<R, T>(rows: R[], limit: number, map: (row: R) => T, position: (row: R) => string | number): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const page: Page<T> = { items: kept.map(map) };
  if (more && kept.length > 0) page.next = encodeCursor(position(kept[kept.length - 1]!));
  return page;
}

// ---- rows -----------------------------------------------------------------------

const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));
const parse = <T>(text: string | null): T | undefined => (text === null ? undefined : (JSON.parse(text) as T));
const opt = (n: number | null): number | undefined => (n === null ? undefined : n);

interface ProjectRow {
  name: string;
  description: string;
  labels: string;
  created_at: number;
  created_by: string;
}
const toProject = (r: ProjectRow): ProjectRecord => ({
  name: r.name,
  description: r.description,
  labels: JSON.parse(r.labels) as Record<string, string>,
  createdAt: r.created_at,
  createdBy: r.created_by,
});

interface EntityRow {
  seq: number;
  resource_type: ResourceType;
  project: string;
  domain: string;
  name: string;
  version: string;
  spec: string;
  bundle: string | null;
  digest: string;
  refs: string;
  created_at: number;
  created_by: string;
  promoted_from: string | null;
  active: number;
}
const toEntity = (r: EntityRow): EntityRecord => {
  const e: EntityRecord = {
    id: { resourceType: r.resource_type, project: r.project, domain: r.domain, name: r.name, version: r.version },
    spec: JSON.parse(r.spec) as EntityRecord["spec"],
    digest: r.digest,
    references: JSON.parse(r.refs) as Identifier[],
    createdAt: r.created_at,
    createdBy: r.created_by,
    active: r.active === 1,
    seq: r.seq,
  };
  if (r.bundle !== null) e.bundle = r.bundle;
  if (r.promoted_from !== null) e.promotedFrom = JSON.parse(r.promoted_from) as NonNullable<EntityRecord["promotedFrom"]>;
  return e;
};

interface ExecutionRow {
  seq: number;
  project: string;
  domain: string;
  name: string;
  workflow_name: string;
  workflow_version: string;
  launch_plan_name: string | null;
  launch_plan_version: string | null;
  phase: ExecutionPhase;
  mode: ExecutionRecord["mode"];
  source: string | null;
  inputs: string;
  outputs: string | null;
  error: string | null;
  abort: string | null;
  labels: string;
  max_parallelism: number | null;
  options: string | null;
  created_at: number;
  created_by: string;
  updated_at: number;
  started_at: number | null;
  ended_at: number | null;
}
const executionOptions = (e: NewExecution): string | null =>
  e.overwriteCache !== undefined || e.parent !== undefined ? JSON.stringify({ overwriteCache: e.overwriteCache, parent: e.parent }) : null;
const toExecution = (r: ExecutionRow): ExecutionRecord => {
  const e: ExecutionRecord = {
    key: { project: r.project, domain: r.domain, name: r.name },
    seq: r.seq,
    workflow: { resourceType: "workflow", project: r.project, domain: r.domain, name: r.workflow_name, version: r.workflow_version },
    phase: r.phase,
    mode: r.mode,
    inputs: JSON.parse(r.inputs) as ExecutionRecord["inputs"],
    labels: JSON.parse(r.labels) as Record<string, string>,
    createdAt: r.created_at,
    createdBy: r.created_by,
    updatedAt: r.updated_at,
  };
  if (r.launch_plan_name !== null && r.launch_plan_version !== null) {
    e.launchPlan = { resourceType: "launch_plan", project: r.project, domain: r.domain, name: r.launch_plan_name, version: r.launch_plan_version };
  }
  if (r.source !== null) e.source = r.source;
  if (r.outputs !== null) e.outputs = parse(r.outputs);
  if (r.error !== null) e.error = parse(r.error);
  if (r.abort !== null) e.abort = parse(r.abort);
  if (r.max_parallelism !== null) e.maxParallelism = r.max_parallelism;
  if (r.options !== null) Object.assign(e, parse<Pick<ExecutionRecord, "overwriteCache" | "parent">>(r.options));
  if (r.started_at !== null) e.startedAt = r.started_at;
  if (r.ended_at !== null) e.endedAt = r.ended_at;
  return e;
};

interface NodeRow {
  node_id: string;
  phase: NodeExecutionRecord["phase"];
  inputs: string | null;
  outputs: string | null;
  error: string | null;
  cache: string | null;
  checkpoint: string | null;
  attempts: number;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  ended_at: number | null;
  detail: string | null;
}
const toNode = (execution: ExecutionKey, r: NodeRow): NodeExecutionRecord => {
  const n: NodeExecutionRecord = {
    execution,
    nodeId: r.node_id,
    phase: r.phase,
    attempts: r.attempts,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
  if (r.inputs !== null) n.inputs = parse(r.inputs);
  if (r.outputs !== null) n.outputs = parse(r.outputs);
  if (r.error !== null) n.error = parse(r.error);
  if (r.cache !== null) n.cache = parse(r.cache);
  if (r.checkpoint !== null) n.checkpoint = parse(r.checkpoint);
  if (r.detail !== null) Object.assign(n, parse<Pick<NodeExecutionRecord, "target" | "child">>(r.detail));
  if (r.started_at !== null) n.startedAt = r.started_at;
  if (r.ended_at !== null) n.endedAt = r.ended_at;
  return n;
};

interface AttemptRow {
  node_id: string;
  attempt: number;
  phase: NodeAttemptRecord["phase"];
  error: string | null;
  logs: string | null;
  started_at: number | null;
  ended_at: number | null;
  updated_at: number;
  runner: string | null;
}
const toAttempt = (execution: ExecutionKey, r: AttemptRow): NodeAttemptRecord => {
  const a: NodeAttemptRecord = { execution, nodeId: r.node_id, attempt: r.attempt, phase: r.phase, updatedAt: r.updated_at };
  if (r.error !== null) a.error = parse(r.error);
  if (r.logs !== null) a.logs = parse(r.logs);
  if (r.runner !== null) a.runner = parse(r.runner);
  if (r.started_at !== null) a.startedAt = r.started_at;
  if (r.ended_at !== null) a.endedAt = r.ended_at;
  return a;
};

interface TokenRow {
  id: string;
  name: string;
  kind: TokenKind;
  grants: string;
  scope: string | null;
  created_at: number;
  created_by: string;
  expires_at: number | null;
  revoked_at: number | null;
}
const toToken = (r: TokenRow): TokenRecord => {
  const t: TokenRecord = {
    id: r.id,
    name: r.name,
    kind: r.kind,
    grants: JSON.parse(r.grants) as TokenRecord["grants"],
    createdAt: r.created_at,
    createdBy: r.created_by,
  };
  if (r.scope !== null) t.scope = parse(r.scope);
  const expires = opt(r.expires_at);
  if (expires !== undefined) t.expiresAt = expires;
  const revoked = opt(r.revoked_at);
  if (revoked !== undefined) t.revokedAt = revoked;
  return t;
};

interface ScheduleStateRow {
  project: string;
  domain: string;
  launch_plan: string;
  version: string;
  anchor_ms: number;
  last_tick_ms: number;
  updated_at: number;
}
const toScheduleState = (r: ScheduleStateRow): ScheduleStateRecord => ({
  project: r.project,
  domain: r.domain,
  launchPlan: r.launch_plan,
  version: r.version,
  anchor: r.anchor_ms,
  lastTick: r.last_tick_ms,
  updatedAt: r.updated_at,
});

interface ScheduleRunRow {
  project: string;
  domain: string;
  launch_plan: string;
  tick_ms: number;
  version: string;
  outcome: ScheduleOutcome;
  execution: string | null;
  reason: string | null;
  recorded_at: number;
}
const toScheduleRun = (r: ScheduleRunRow): ScheduleRunRecord => {
  const run: ScheduleRunRecord = {
    project: r.project,
    domain: r.domain,
    launchPlan: r.launch_plan,
    tick: r.tick_ms,
    version: r.version,
    outcome: r.outcome,
    recordedAt: r.recorded_at,
  };
  if (r.execution !== null) run.execution = r.execution;
  if (r.reason !== null) run.reason = r.reason;
  return run;
};

/** Token secrets: a recognizable prefix (secret scanners match it) and 256 random bits. */
const TOKEN_PREFIX = "petrel_";
const hashSecret = (secret: string) => createHash("sha256").update(secret).digest("hex");

const ENTITY_COLUMNS =
  "seq, resource_type, project, domain, name, version, spec, bundle, digest, refs, created_at, created_by, promoted_from, active";
const EXECUTION_COLUMNS =
  "seq, project, domain, name, workflow_name, workflow_version, launch_plan_name, launch_plan_version, phase, mode, source, inputs, outputs, error, abort, labels, max_parallelism, options, created_at, created_by, updated_at, started_at, ended_at";
const TOKEN_COLUMNS = "id, name, kind, grants, scope, created_at, created_by, expires_at, revoked_at";
const NODE_COLUMNS = "node_id, phase, inputs, outputs, error, cache, checkpoint, attempts, created_at, updated_at, started_at, ended_at, detail";
const ATTEMPT_COLUMNS = "node_id, attempt, phase, error, logs, started_at, ended_at, updated_at, runner";
const SCHEDULE_STATE_COLUMNS = "project, domain, launch_plan, version, anchor_ms, last_tick_ms, updated_at";
const SCHEDULE_RUN_COLUMNS = "project, domain, launch_plan, tick_ms, version, outcome, execution, reason, recorded_at";

/** How often a write that lost a race on a unique index is retried. */
const RACE_RETRIES = 3;

class SqlStore implements MetadataStore {
  readonly kind: "sqlite" | "postgres";

  constructor(
    private readonly db: SqlDriver,
    private readonly clock: Clock,
    private readonly root?: SqlStore,
  ) {
    this.kind = db.dialect;
  }

  transaction<T>(fn: (tx: MetadataStore) => Promise<T>): Promise<T> {
    if (this.root) return fn(this);
    return this.db.transaction((tx) => fn(new SqlStore(tx, this.clock, this)));
  }

  async schemaVersion(): Promise<number> {
    return (await this.db.get<{ v: number }>("SELECT MAX(version) AS v FROM petrel_migrations"))?.v ?? 0;
  }

  async counts(): Promise<StoreCounts> {
    const out: StoreCounts = {};
    for (const table of TABLES) out[table] = (await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))!.n;
    return out;
  }

  async close(): Promise<void> {
    if (!this.root) await this.db.close();
  }

  // ---- projects ------------------------------------------------------------

  async createProject(p: ProjectRecord): Promise<boolean> {
    const changes = await this.db.run(
      "INSERT INTO projects (name, description, labels, created_at, created_by) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
      [p.name, p.description, JSON.stringify(p.labels), p.createdAt, p.createdBy],
    );
    return changes === 1;
  }

  async getProject(name: string): Promise<ProjectRecord | undefined> {
    const row = await this.db.get<ProjectRow>("SELECT name, description, labels, created_at, created_by FROM projects WHERE name = ?", [name]);
    return row && toProject(row);
  }

  async listProjects(names?: readonly string[]): Promise<ProjectRecord[]> {
    if (names && names.length === 0) return [];
    const where = names ? ` WHERE name IN (${names.map(() => "?").join(", ")})` : "";
    const rows = await this.db.all<ProjectRow>(`SELECT name, description, labels, created_at, created_by FROM projects${where} ORDER BY name`, names ?? []);
    return rows.map(toProject);
  }

  // ---- blobs ------------------------------------------------------------------

  async addProjectBlob(b: ProjectBlobRecord): Promise<void> {
    await this.db.run(
      "INSERT INTO project_blobs (project, hash, size, kind, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (project, hash) DO NOTHING",
      [b.project, b.hash, b.size, b.kind, b.createdAt, b.createdBy],
    );
  }

  async getProjectBlob(project: string, hash: string): Promise<ProjectBlobRecord | undefined> {
    const row = await this.db.get<{ size: number; kind: ProjectBlobRecord["kind"]; created_at: number; created_by: string }>(
      "SELECT size, kind, created_at, created_by FROM project_blobs WHERE project = ? AND hash = ?",
      [project, hash],
    );
    return row && { project, hash, size: row.size, kind: row.kind, createdAt: row.created_at, createdBy: row.created_by };
  }

  // ---- entities ----------------------------------------------------------------

  async registerEntity(e: NewEntity): Promise<RegisterResult> {
    // Insert first: a new version (the common case) costs one statement; a taken one is read back and compared.
    const row = await this.db.get<{ seq: number }>(
      `INSERT INTO entities (resource_type, project, domain, name, version, spec, bundle, digest, refs, created_at, created_by, promoted_from, active)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
       ON CONFLICT (resource_type, project, domain, name, version) DO NOTHING RETURNING seq`,
      [
        e.id.resourceType,
        e.id.project,
        e.id.domain,
        e.id.name,
        e.id.version,
        JSON.stringify(e.spec),
        e.bundle ?? null,
        e.digest,
        JSON.stringify(e.references),
        e.createdAt,
        e.createdBy,
        json(e.promotedFrom),
      ],
    );
    if (row) return { status: "created", record: { ...e, active: false, seq: row.seq } };
    const existing = (await this.getEntity(e.id))!;
    return existing.digest === e.digest ? { status: "identical", record: existing } : { status: "conflict", existing };
  }

  async getEntity(id: Identifier): Promise<EntityRecord | undefined> {
    const row = await this.db.get<EntityRow>(
      `SELECT ${ENTITY_COLUMNS} FROM entities WHERE resource_type = ? AND project = ? AND domain = ? AND name = ? AND version = ?`,
      [id.resourceType, id.project, id.domain, id.name, id.version],
    );
    return row && toEntity(row);
  }

  async latestEntity(resourceType: ResourceType, project: string, domain: string, name: string): Promise<EntityRecord | undefined> {
    const row = await this.db.get<EntityRow>(
      `SELECT ${ENTITY_COLUMNS} FROM entities WHERE resource_type = ? AND project = ? AND domain = ? AND name = ? ORDER BY seq DESC LIMIT 1`,
      [resourceType, project, domain, name],
    );
    return row && toEntity(row);
  }

  async listEntityVersions(
    resourceType: ResourceType,
    project: string,
    domain: string,
    name: string,
    page: PageRequest,
  ): Promise<Page<EntityRecord>> {
    const after = decodeCursor<number>(page.cursor, "number");
    const params: SqlValue[] = [resourceType, project, domain, name];
    if (after !== undefined) params.push(after);
    params.push(page.limit + 1);
    const rows = await this.db.all<EntityRow>(
      `SELECT ${ENTITY_COLUMNS} FROM entities WHERE resource_type = ? AND project = ? AND domain = ? AND name = ?${
        after !== undefined ? " AND seq < ?" : ""
      } ORDER BY seq DESC LIMIT ?`,
      params,
    );
    return pageOf(rows, page.limit, toEntity, (r) => r.seq);
  }

  async listEntityNames(resourceType: ResourceType, project: string, domain: string, page: PageRequest): Promise<Page<EntityNameSummary>> {
    const after = decodeCursor<string>(page.cursor, "string");
    const params: SqlValue[] = [resourceType, project, domain];
    if (after !== undefined) params.push(after);
    params.push(page.limit + 1);
    const rows = await this.db.all<{ name: string; version: string; versions: number; created_at: number }>(
      `SELECT e.name, e.version, g.versions, e.created_at FROM entities e JOIN (
         SELECT name, MAX(seq) AS latest, COUNT(*) AS versions FROM entities
         WHERE resource_type = ? AND project = ? AND domain = ?${after !== undefined ? " AND name > ?" : ""}
         GROUP BY name
       ) g ON e.seq = g.latest ORDER BY e.name LIMIT ?`,
      params,
    );
    return pageOf(
      rows,
      page.limit,
      (r) => ({ name: r.name, latestVersion: r.version, versions: Number(r.versions), updatedAt: r.created_at }),
      (r) => r.name,
    );
  }

  async setLaunchPlanActive(id: Identifier, active: boolean): Promise<{ previous: string | null } | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transaction(async (tx) => {
          const self = tx as SqlStore;
          const where = "resource_type = 'launch_plan' AND project = ? AND domain = ? AND name = ?";
          const keyParams = [id.project, id.domain, id.name];
          // Lock every version of the name in one order first, so concurrent activations queue instead of deadlocking.
          await self.db.all(`SELECT seq FROM entities WHERE ${where} ORDER BY seq${self.db.forUpdate}`, keyParams);
          const exists = await self.db.get<{ seq: number }>(`SELECT seq FROM entities WHERE ${where} AND version = ?`, [...keyParams, id.version]);
          if (!exists) return undefined;
          const previous = (await self.db.get<{ version: string }>(`SELECT version FROM entities WHERE ${where} AND active = 1`, keyParams))?.version ?? null;
          if (active) {
            await self.db.run(`UPDATE entities SET active = 0 WHERE ${where} AND active = 1 AND version <> ?`, [...keyParams, id.version]);
            await self.db.run(`UPDATE entities SET active = 1 WHERE ${where} AND version = ?`, [...keyParams, id.version]);
            if (previous !== id.version) await self.anchorSchedule({ project: id.project, domain: id.domain, launchPlan: id.name }, id.version, self.clock.now(), false);
          } else {
            await self.db.run(`UPDATE entities SET active = 0 WHERE ${where} AND version = ?`, [...keyParams, id.version]);
          }
          return { previous };
        });
      } catch (error) {
        // Two activations raced (on the one-active index, or the database broke a deadlock): retry; the later one wins.
        if (!(error instanceof UniqueViolation || error instanceof RetryableConflict) || attempt >= RACE_RETRIES) throw error;
      }
    }
  }

  async getActiveLaunchPlan(project: string, domain: string, name: string): Promise<EntityRecord | undefined> {
    const row = await this.db.get<EntityRow>(
      `SELECT ${ENTITY_COLUMNS} FROM entities WHERE resource_type = 'launch_plan' AND project = ? AND domain = ? AND name = ? AND active = 1`,
      [project, domain, name],
    );
    return row && toEntity(row);
  }

  async listActiveLaunchPlans(filter?: ActiveLaunchPlanFilter): Promise<EntityRecord[]> {
    const where = ["resource_type = 'launch_plan'", "active = 1"];
    const params: SqlValue[] = [];
    if (filter) {
      where.push("project = ?");
      params.push(filter.project);
      if (filter.domain !== undefined) {
        where.push("domain = ?");
        params.push(filter.domain);
      }
    }
    const rows = await this.db.all<EntityRow>(`SELECT ${ENTITY_COLUMNS} FROM entities WHERE ${where.join(" AND ")} ORDER BY seq`, params);
    return rows.map(toEntity);
  }

  async recordPromotion(p: PromotionRecord): Promise<void> {
    await this.db.run(
      "INSERT INTO promotions (resource_type, project, name, version, from_domain, to_domain, promoted_by, promoted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      [p.id.resourceType, p.id.project, p.id.name, p.id.version, p.fromDomain, p.id.domain, p.by, p.at],
    );
  }

  async listPromotions(project: string, name?: string): Promise<PromotionRecord[]> {
    const rows = await this.db.all<{
      resource_type: ResourceType;
      name: string;
      version: string;
      from_domain: string;
      to_domain: string;
      promoted_by: string;
      promoted_at: number;
    }>(
      `SELECT resource_type, name, version, from_domain, to_domain, promoted_by, promoted_at FROM promotions WHERE project = ?${
        name !== undefined ? " AND name = ?" : ""
      } ORDER BY seq`,
      name !== undefined ? [project, name] : [project],
    );
    return rows.map((r) => ({
      id: { resourceType: r.resource_type, project, domain: r.to_domain, name: r.name, version: r.version },
      fromDomain: r.from_domain,
      by: r.promoted_by,
      at: r.promoted_at,
    }));
  }

  // ---- executions ------------------------------------------------------------------

  async createExecution(e: NewExecution): Promise<ExecutionRecord | undefined> {
    const labels = Object.entries(e.labels);
    const params: SqlValue[] = [
      e.key.project,
      e.key.domain,
      e.key.name,
      e.workflow.name,
      e.workflow.version,
      e.launchPlan?.name ?? null,
      e.launchPlan?.version ?? null,
      e.phase,
      e.mode,
      e.source ?? null,
      JSON.stringify(e.inputs),
      json(e.outputs),
      json(e.error),
      json(e.abort),
      JSON.stringify(e.labels),
      e.maxParallelism ?? null,
      executionOptions(e),
      e.createdAt,
      e.createdBy,
      e.updatedAt,
      e.startedAt ?? null,
      e.endedAt ?? null,
    ];
    const insert = `INSERT INTO executions (project, domain, name, workflow_name, workflow_version, launch_plan_name, launch_plan_version, phase, mode, source,
           inputs, outputs, error, abort, labels, max_parallelism, options, created_at, created_by, updated_at, started_at, ended_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (project, domain, name) DO NOTHING RETURNING seq`;
    if (labels.length > 0 && this.db.dialect === "postgres") {
      // One statement (one round trip, atomic on its own): the execution and its labels through a data-modifying CTE.
      const row = await this.db.get<{ seq: number }>(
        `WITH e AS (${insert}),
         l AS (INSERT INTO execution_labels (execution_seq, key, value) SELECT e.seq, v.key, v.value FROM e, (VALUES ${labels
           .map(() => "(?, ?)")
           .join(", ")}) AS v(key, value) RETURNING 1)
         SELECT seq FROM e`,
        [...params, ...labels.flat()],
      );
      return row ? { ...e, seq: row.seq } : undefined;
    }
    return this.transaction(async (tx) => {
      const self = tx as SqlStore;
      const row = await self.db.get<{ seq: number }>(insert, params);
      if (!row) return undefined;
      for (const [key, value] of labels) {
        await self.db.run("INSERT INTO execution_labels (execution_seq, key, value) VALUES (?, ?, ?)", [row.seq, key, value]);
      }
      return { ...e, seq: row.seq };
    });
  }

  async getExecution(key: ExecutionKey): Promise<ExecutionRecord | undefined> {
    const row = await this.db.get<ExecutionRow>(`SELECT ${EXECUTION_COLUMNS} FROM executions WHERE project = ? AND domain = ? AND name = ?`, [
      key.project,
      key.domain,
      key.name,
    ]);
    return row && toExecution(row);
  }

  async listExecutions(filter: ExecutionFilter, page: PageRequest): Promise<Page<ExecutionRecord>> {
    const where: string[] = ["project = ?"];
    const params: SqlValue[] = [filter.project];
    if (filter.domain !== undefined) {
      where.push("domain = ?");
      params.push(filter.domain);
    }
    if (filter.phases && filter.phases.length > 0) {
      where.push(`phase IN (${filter.phases.map(() => "?").join(", ")})`);
      params.push(...filter.phases);
    }
    if (filter.workflow !== undefined) {
      where.push("workflow_name = ?");
      params.push(filter.workflow);
    }
    if (filter.launchPlan !== undefined) {
      where.push("launch_plan_name = ?");
      params.push(filter.launchPlan);
    }
    for (const label of filter.labels ?? []) {
      where.push(`EXISTS (SELECT 1 FROM execution_labels l WHERE l.execution_seq = executions.seq AND l.key = ?${label.value !== undefined ? " AND l.value = ?" : ""})`);
      params.push(label.key);
      if (label.value !== undefined) params.push(label.value);
    }
    if (filter.createdAfter !== undefined) {
      where.push("created_at >= ?");
      params.push(filter.createdAfter);
    }
    if (filter.createdBefore !== undefined) {
      where.push("created_at < ?");
      params.push(filter.createdBefore);
    }
    const before = decodeCursor<number>(page.cursor, "number");
    if (before !== undefined) {
      where.push("seq < ?");
      params.push(before);
    }
    params.push(page.limit + 1);
    const rows = await this.db.all<ExecutionRow>(`SELECT ${EXECUTION_COLUMNS} FROM executions WHERE ${where.join(" AND ")} ORDER BY seq DESC LIMIT ?`, params);
    return pageOf(rows, page.limit, toExecution, (r) => r.seq);
  }

  async updateExecution(
    key: ExecutionKey,
    patch: ExecutionPatch,
    ifPhase?: readonly ExecutionPhase[],
  ): Promise<{ updated: boolean; record: ExecutionRecord } | undefined> {
    const sets: string[] = ["updated_at = ?"];
    const params: SqlValue[] = [patch.updatedAt];
    const set = (column: string, value: SqlValue) => {
      sets.push(`${column} = ?`);
      params.push(value);
    };
    if (patch.phase !== undefined) set("phase", patch.phase);
    if (patch.outputs !== undefined) set("outputs", JSON.stringify(patch.outputs));
    if (patch.error !== undefined) set("error", JSON.stringify(patch.error));
    if (patch.abort !== undefined) set("abort", JSON.stringify(patch.abort));
    if (patch.startedAt !== undefined) set("started_at", patch.startedAt);
    if (patch.endedAt !== undefined) set("ended_at", patch.endedAt);
    params.push(key.project, key.domain, key.name);
    let condition = "";
    if (ifPhase) {
      condition = ifPhase.length > 0 ? ` AND phase IN (${ifPhase.map(() => "?").join(", ")})` : " AND 1 = 0";
      params.push(...ifPhase);
    }
    const changes = await this.db.run(`UPDATE executions SET ${sets.join(", ")} WHERE project = ? AND domain = ? AND name = ?${condition}`, params);
    const record = await this.getExecution(key);
    return record && { updated: changes === 1, record };
  }

  async listUnfinishedExecutions(): Promise<ExecutionRecord[]> {
    const rows = await this.db.all<ExecutionRow>(`SELECT ${EXECUTION_COLUMNS} FROM executions WHERE phase IN ('QUEUED', 'RUNNING') ORDER BY seq`, []);
    return rows.map(toExecution);
  }

  // ---- nodes -------------------------------------------------------------------------

  /**
   * Executions' row keys, which never change once committed (executions are never
   * deleted): node writes, several per task, skip the lookup. Filled only outside
   * transactions, so a rolled-back insert can never leave a key behind.
   */
  private readonly seqs = new Map<string, number>();

  private async executionSeq(key: ExecutionKey): Promise<number | undefined> {
    const cache = (this.root ?? this).seqs;
    const k = `${key.project}\u0000${key.domain}\u0000${key.name}`;
    const cached = cache.get(k);
    if (cached !== undefined) return cached;
    const seq = (await this.db.get<{ seq: number }>("SELECT seq FROM executions WHERE project = ? AND domain = ? AND name = ?", [key.project, key.domain, key.name]))?.seq;
    if (seq !== undefined && !this.root) {
      if (cache.size >= 100_000) cache.clear();
      cache.set(k, seq);
    }
    return seq;
  }

  async putNodeExecution(n: NodeExecutionRecord): Promise<boolean> {
    const seq = await this.executionSeq(n.execution);
    if (seq === undefined) return false;
    await this.db.run(
      `INSERT INTO node_executions (execution_seq, ${NODE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (execution_seq, node_id) DO UPDATE SET phase = excluded.phase, inputs = excluded.inputs, outputs = excluded.outputs,
         error = excluded.error, cache = excluded.cache, checkpoint = excluded.checkpoint, attempts = excluded.attempts,
         updated_at = excluded.updated_at, started_at = excluded.started_at, ended_at = excluded.ended_at, detail = excluded.detail`,
      [
        seq,
        n.nodeId,
        n.phase,
        json(n.inputs),
        json(n.outputs),
        json(n.error),
        json(n.cache),
        json(n.checkpoint),
        n.attempts,
        n.createdAt,
        n.updatedAt,
        n.startedAt ?? null,
        n.endedAt ?? null,
        n.target !== undefined || n.child !== undefined ? JSON.stringify({ target: n.target, child: n.child }) : null,
      ],
    );
    return true;
  }

  async getNodeExecution(execution: ExecutionKey, nodeId: string): Promise<NodeExecutionRecord | undefined> {
    const row = await this.db.get<NodeRow>(
      `SELECT ${NODE_COLUMNS} FROM node_executions WHERE execution_seq = (SELECT seq FROM executions WHERE project = ? AND domain = ? AND name = ?) AND node_id = ?`,
      [execution.project, execution.domain, execution.name, nodeId],
    );
    return row && toNode(execution, row);
  }

  async listNodeExecutions(execution: ExecutionKey): Promise<NodeExecutionRecord[]> {
    const rows = await this.db.all<NodeRow>(
      `SELECT ${NODE_COLUMNS} FROM node_executions WHERE execution_seq = (SELECT seq FROM executions WHERE project = ? AND domain = ? AND name = ?) ORDER BY created_at, node_id`,
      [execution.project, execution.domain, execution.name],
    );
    return rows.map((r) => toNode(execution, r));
  }

  async putNodeAttempt(a: NodeAttemptRecord): Promise<boolean> {
    const seq = await this.executionSeq(a.execution);
    if (seq === undefined) return false;
    await this.db.run(
      `INSERT INTO node_attempts (execution_seq, ${ATTEMPT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (execution_seq, node_id, attempt) DO UPDATE SET phase = excluded.phase, error = excluded.error, logs = excluded.logs,
         started_at = excluded.started_at, ended_at = excluded.ended_at, updated_at = excluded.updated_at, runner = excluded.runner`,
      [seq, a.nodeId, a.attempt, a.phase, json(a.error), json(a.logs), a.startedAt ?? null, a.endedAt ?? null, a.updatedAt, json(a.runner)],
    );
    return true;
  }

  async listNodeAttempts(execution: ExecutionKey, nodeId: string): Promise<NodeAttemptRecord[]> {
    const rows = await this.db.all<AttemptRow>(
      `SELECT ${ATTEMPT_COLUMNS} FROM node_attempts WHERE execution_seq = (SELECT seq FROM executions WHERE project = ? AND domain = ? AND name = ?) AND node_id = ? ORDER BY attempt`,
      [execution.project, execution.domain, execution.name, nodeId],
    );
    return rows.map((r) => toAttempt(execution, r));
  }

  // ---- schedules ---------------------------------------------------------------------------

  async getScheduleState(key: ScheduleKey): Promise<ScheduleStateRecord | undefined> {
    const row = await this.db.get<ScheduleStateRow>(`SELECT ${SCHEDULE_STATE_COLUMNS} FROM schedule_state WHERE project = ? AND domain = ? AND launch_plan = ?`, [
      key.project,
      key.domain,
      key.launchPlan,
    ]);
    return row && toScheduleState(row);
  }

  /**
   * Anchors a schedule for `version` at `now`: lastTick moves up to now, never back.
   * `onlyIfOtherVersion`: leave a state anchored for this version alone.
   */
  private async anchorSchedule(key: ScheduleKey, version: string, now: number, onlyIfOtherVersion: boolean): Promise<void> {
    await this.db.run(
      `INSERT INTO schedule_state (project, domain, launch_plan, version, anchor_ms, last_tick_ms, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (project, domain, launch_plan) DO UPDATE SET version = excluded.version, anchor_ms = excluded.anchor_ms,
         last_tick_ms = CASE WHEN schedule_state.last_tick_ms < excluded.last_tick_ms THEN excluded.last_tick_ms ELSE schedule_state.last_tick_ms END,
         updated_at = excluded.updated_at${onlyIfOtherVersion ? " WHERE schedule_state.version <> excluded.version" : ""}`,
      [key.project, key.domain, key.launchPlan, version, now, now, now],
    );
  }

  async ensureScheduleState(key: ScheduleKey, version: string, now: number): Promise<ScheduleStateRecord> {
    await this.anchorSchedule(key, version, now, true);
    return (await this.getScheduleState(key))!;
  }

  async advanceScheduleState(key: ScheduleKey, tick: number, now: number): Promise<boolean> {
    const changes = await this.db.run(
      "UPDATE schedule_state SET last_tick_ms = ?, updated_at = ? WHERE project = ? AND domain = ? AND launch_plan = ? AND last_tick_ms < ?",
      [tick, now, key.project, key.domain, key.launchPlan, tick],
    );
    return changes === 1;
  }

  async claimScheduleRun(run: ScheduleRunRecord): Promise<{ claimed: boolean; run: ScheduleRunRecord }> {
    const changes = await this.db.run(
      `INSERT INTO schedule_runs (${SCHEDULE_RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (project, domain, launch_plan, tick_ms) DO NOTHING`,
      [run.project, run.domain, run.launchPlan, run.tick, run.version, run.outcome, run.execution ?? null, run.reason ?? null, run.recordedAt],
    );
    if (changes === 1) return { claimed: true, run };
    const row = await this.db.get<ScheduleRunRow>(
      `SELECT ${SCHEDULE_RUN_COLUMNS} FROM schedule_runs WHERE project = ? AND domain = ? AND launch_plan = ? AND tick_ms = ?`,
      [run.project, run.domain, run.launchPlan, run.tick],
    );
    return { claimed: false, run: toScheduleRun(row!) };
  }

  async updateScheduleRun(key: ScheduleKey, tick: number, change: { outcome: ScheduleOutcome; reason?: string }): Promise<boolean> {
    const changes = await this.db.run("UPDATE schedule_runs SET outcome = ?, reason = ? WHERE project = ? AND domain = ? AND launch_plan = ? AND tick_ms = ?", [
      change.outcome,
      change.reason ?? null,
      key.project,
      key.domain,
      key.launchPlan,
      tick,
    ]);
    return changes === 1;
  }

  async listScheduleRuns(key: ScheduleKey, page: PageRequest): Promise<Page<ScheduleRunRecord>> {
    const before = decodeCursor<number>(page.cursor, "number");
    const params: SqlValue[] = [key.project, key.domain, key.launchPlan];
    if (before !== undefined) params.push(before);
    params.push(page.limit + 1);
    const rows = await this.db.all<ScheduleRunRow>(
      `SELECT ${SCHEDULE_RUN_COLUMNS} FROM schedule_runs WHERE project = ? AND domain = ? AND launch_plan = ?${
        before !== undefined ? " AND tick_ms < ?" : ""
      } ORDER BY tick_ms DESC LIMIT ?`,
      params,
    );
    return pageOf(rows, page.limit, toScheduleRun, (r) => r.tick_ms);
  }

  // ---- tokens ---------------------------------------------------------------------------

  async createToken(t: NewToken): Promise<CreatedToken> {
    const secret = t.secret ?? `${TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
    const record: TokenRecord = {
      id: `tok_${randomBytes(12).toString("base64url")}`,
      name: t.name,
      kind: t.kind,
      grants: t.grants ?? [],
      createdAt: this.clock.now(),
      createdBy: t.createdBy,
    };
    if (t.scope) record.scope = t.scope;
    if (t.expiresAt !== undefined) record.expiresAt = t.expiresAt;
    const changes = await this.db.run(
      `INSERT INTO tokens (hash, ${TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT (hash) DO NOTHING`,
      [hashSecret(secret), record.id, record.name, record.kind, JSON.stringify(record.grants), json(record.scope), record.createdAt, record.createdBy, record.expiresAt ?? null],
    );
    if (changes === 0) {
      // Only a caller-chosen secret can collide: hand back the token it already names.
      const existing = await this.db.get<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE hash = ?`, [hashSecret(secret)]);
      return { token: secret, record: toToken(existing!) };
    }
    return { token: secret, record };
  }

  async createNodeToken(r: NewNodeToken): Promise<CreatedToken> {
    return this.createToken({
      name: `node ${r.execution.name}/${r.node}`,
      kind: "node",
      scope: { project: r.execution.project, domain: r.execution.domain, execution: r.execution.name, node: r.node },
      createdBy: r.createdBy ?? "engine",
      expiresAt: this.clock.now() + (r.ttlMs ?? DEFAULT_NODE_TOKEN_TTL_MS),
    });
  }

  async authenticate(secret: string): Promise<TokenRecord | undefined> {
    const row = await this.db.get<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE hash = ?`, [hashSecret(secret)]);
    if (!row || row.revoked_at !== null) return undefined;
    if (row.expires_at !== null && row.expires_at <= this.clock.now()) return undefined;
    return toToken(row);
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const row = await this.db.get<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE id = ?`, [id]);
    return row && toToken(row);
  }

  async revokeToken(id: string): Promise<boolean> {
    const changes = await this.db.run("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [this.clock.now(), id]);
    if (changes === 1) return true;
    return (await this.getToken(id)) !== undefined;
  }

  async revokeTokensNamed(kind: TokenKind, name: string, keepId: string): Promise<number> {
    return this.db.run("UPDATE tokens SET revoked_at = ? WHERE kind = ? AND name = ? AND id <> ? AND revoked_at IS NULL", [this.clock.now(), kind, name, keepId]);
  }
}
