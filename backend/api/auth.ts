/**
 * Bearer tokens and who may do what.
 *
 * - The admin token (created on first start) may do everything.
 * - A user token holds grants: a role (viewer < editor < admin) on a project,
 *   optionally narrowed to some domains. Reading needs viewer, registering,
 *   executing and uploading need editor (in the domain concerned; promotion needs
 *   editor in the target domain), managing tokens of a project needs admin.
 * - A node token (minted by the engine with `store.createNodeToken`) is scoped to
 *   one node of one execution: it reads that node's inputs, blobs and bundle,
 *   uploads blobs to that project and writes that node's outputs and checkpoint.
 *
 * Isolation: a caller with no grant on a project gets 404 for everything in it,
 * exactly as for a project that does not exist, so existence never leaks. A node
 * token gets 404 for every other node, execution, project and route. A caller who
 * can see a project but lacks the role gets 403.
 */
import { ROLES, type Grant, type Role } from "../store/index.js";
import type { ApiDeps, Principal } from "./context.js";
import { API_ERRORS, ApiError, notFound } from "./errors.js";

/** The caller of an unauthenticated route. */
export const ANONYMOUS: Principal = { kind: "anonymous", name: "anonymous", grants: [] };
/** The caller of every request on an `--insecure-local` server. */
export const LOCAL_ADMIN: Principal = { kind: "admin", name: "local", grants: [] };

const rank = (role: Role) => ROLES.indexOf(role);

/** Resolves the `Authorization: Bearer <token>` header to a principal; 401 otherwise. */
export async function authenticate(deps: ApiDeps, header: string | undefined): Promise<Principal> {
  if (deps.settings.insecureLocal) return LOCAL_ADMIN;
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!m) throw new ApiError(401, API_ERRORS.UNAUTHENTICATED, "missing bearer token: send Authorization: Bearer <token>");
  const token = await deps.store.authenticate(m[1]!);
  if (!token) throw new ApiError(401, API_ERRORS.UNAUTHENTICATED, "invalid, expired or revoked token");
  const p: Principal = { kind: token.kind, name: token.name, tokenId: token.id, grants: token.grants };
  if (token.scope) p.scope = token.scope;
  return p;
}

/** The caller's strongest role on `project` (in `domain`, when given), or undefined. */
export function roleIn(p: Principal, project: string, domain?: string): Role | undefined {
  if (p.kind === "admin") return "admin";
  if (p.kind !== "user") return undefined;
  let best: Role | undefined;
  for (const g of p.grants) {
    if (g.project !== project) continue;
    if (domain !== undefined && g.domains && !g.domains.includes(domain)) continue;
    if (best === undefined || rank(g.role) > rank(best)) best = g.role;
  }
  return best;
}

/** Whether the caller can see `project` at all (any grant, in any domain). */
export function canSee(p: Principal, project: string): boolean {
  return roleIn(p, project) !== undefined;
}

/**
 * Requires `need` on `project` (in `domain`, when given): 404 when the caller
 * cannot see the project, 403 when it can but its role is too weak.
 */
export function requireRole(p: Principal, project: string, need: Role, domain?: string): void {
  if (!canSee(p, project)) throw notFound(`project ${project}`);
  const role = roleIn(p, project, domain);
  if (role === undefined || rank(role) < rank(need)) {
    const where = domain !== undefined ? `project ${project}, domain ${domain}` : `project ${project}`;
    throw new ApiError(403, API_ERRORS.FORBIDDEN, `${p.name} needs the ${need} role on ${where}${role ? ` (has ${role})` : ""}`);
  }
}

/** Whether the caller may grant `grants` to a new token: the admin, or an admin of every project named. */
export function canGrant(p: Principal, grants: readonly Grant[]): boolean {
  if (p.kind === "admin") return true;
  if (p.kind !== "user" || grants.length === 0) return false;
  return grants.every((g) => roleIn(p, g.project) === "admin");
}
