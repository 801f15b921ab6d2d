/**
 * Schema migrations, numbered and append-only: a released migration is never
 * edited, a change is a new entry. Written once for both databases; `{{SEQ}}`
 * becomes each dialect's auto-increment key. JSON columns are TEXT (the store
 * never queries inside them); times are BIGINT epoch milliseconds.
 */

/** One schema step. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every migration, in order. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "control plane: projects, blobs, entities, executions, nodes, tokens",
    sql: `
CREATE TABLE projects (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL,
  labels TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL
);

CREATE TABLE project_blobs (
  project TEXT NOT NULL REFERENCES projects (name),
  hash TEXT NOT NULL,
  size BIGINT NOT NULL,
  kind TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  PRIMARY KEY (project, hash)
);

CREATE TABLE entities (
  seq {{SEQ}},
  resource_type TEXT NOT NULL,
  project TEXT NOT NULL REFERENCES projects (name),
  domain TEXT NOT NULL,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  spec TEXT NOT NULL,
  bundle TEXT,
  digest TEXT NOT NULL,
  refs TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  promoted_from TEXT,
  active INTEGER NOT NULL DEFAULT 0,
  UNIQUE (resource_type, project, domain, name, version)
);
CREATE INDEX entities_by_name ON entities (resource_type, project, domain, name, seq);
CREATE UNIQUE INDEX entities_one_active ON entities (project, domain, name) WHERE resource_type = 'launch_plan' AND active = 1;

CREATE TABLE promotions (
  seq {{SEQ}},
  resource_type TEXT NOT NULL,
  project TEXT NOT NULL REFERENCES projects (name),
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  from_domain TEXT NOT NULL,
  to_domain TEXT NOT NULL,
  promoted_by TEXT NOT NULL,
  promoted_at BIGINT NOT NULL
);
CREATE INDEX promotions_by_project ON promotions (project, name, seq);

CREATE TABLE executions (
  seq {{SEQ}},
  project TEXT NOT NULL REFERENCES projects (name),
  domain TEXT NOT NULL,
  name TEXT NOT NULL,
  workflow_name TEXT NOT NULL,
  workflow_version TEXT NOT NULL,
  launch_plan_name TEXT,
  launch_plan_version TEXT,
  phase TEXT NOT NULL,
  mode TEXT NOT NULL,
  source TEXT,
  inputs TEXT NOT NULL,
  outputs TEXT,
  error TEXT,
  abort TEXT,
  labels TEXT NOT NULL,
  max_parallelism INTEGER,
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  started_at BIGINT,
  ended_at BIGINT,
  UNIQUE (project, domain, name)
);
CREATE INDEX executions_by_domain ON executions (project, domain, seq);
CREATE INDEX executions_by_phase ON executions (project, phase, seq);
CREATE INDEX executions_by_workflow ON executions (project, workflow_name, seq);
CREATE INDEX executions_by_launch_plan ON executions (project, launch_plan_name, seq);

CREATE TABLE execution_labels (
  execution_seq BIGINT NOT NULL REFERENCES executions (seq) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (execution_seq, key)
);
CREATE INDEX execution_labels_by_value ON execution_labels (key, value, execution_seq);

CREATE TABLE node_executions (
  execution_seq BIGINT NOT NULL REFERENCES executions (seq) ON DELETE CASCADE,
  node_id TEXT NOT NULL,
  phase TEXT NOT NULL,
  inputs TEXT,
  outputs TEXT,
  error TEXT,
  cache TEXT,
  checkpoint TEXT,
  attempts INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  started_at BIGINT,
  ended_at BIGINT,
  PRIMARY KEY (execution_seq, node_id)
);

CREATE TABLE node_attempts (
  execution_seq BIGINT NOT NULL REFERENCES executions (seq) ON DELETE CASCADE,
  node_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  phase TEXT NOT NULL,
  error TEXT,
  logs TEXT,
  started_at BIGINT,
  ended_at BIGINT,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (execution_seq, node_id, attempt)
);

CREATE TABLE tokens (
  hash TEXT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  grants TEXT NOT NULL,
  scope TEXT,
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  expires_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX tokens_by_name ON tokens (kind, name);
`,
  },
  {
    version: 2,
    name: "engine: execution options and parent, node targets, attempt runners, unfinished executions",
    sql: `
ALTER TABLE executions ADD COLUMN options TEXT;
CREATE INDEX executions_unfinished ON executions (phase, seq);
ALTER TABLE node_executions ADD COLUMN detail TEXT;
ALTER TABLE node_attempts ADD COLUMN runner TEXT;
`,
  },
  {
    version: 3,
    name: "scheduler: schedule state per launch plan name, one recorded outcome per tick",
    sql: `
CREATE TABLE schedule_state (
  project TEXT NOT NULL REFERENCES projects (name),
  domain TEXT NOT NULL,
  launch_plan TEXT NOT NULL,
  version TEXT NOT NULL,
  anchor_ms BIGINT NOT NULL,
  last_tick_ms BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (project, domain, launch_plan)
);

CREATE TABLE schedule_runs (
  project TEXT NOT NULL REFERENCES projects (name),
  domain TEXT NOT NULL,
  launch_plan TEXT NOT NULL,
  tick_ms BIGINT NOT NULL,
  version TEXT NOT NULL,
  outcome TEXT NOT NULL,
  execution TEXT,
  reason TEXT,
  recorded_at BIGINT NOT NULL,
  PRIMARY KEY (project, domain, launch_plan, tick_ms)
);
`,
  },
];

/** Tables of the current schema, for row counts. */
export const TABLES = [
  "projects",
  "project_blobs",
  "entities",
  "promotions",
  "executions",
  "execution_labels",
  "node_executions",
  "node_attempts",
  "tokens",
  "schedule_state",
  "schedule_runs",
] as const;

/** A migration's SQL in one dialect. */
export function migrationSql(migration: Migration, dialect: "sqlite" | "postgres"): string {
  const seq = dialect === "sqlite" ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY";
  return migration.sql.replaceAll("{{SEQ}}", seq);
}
