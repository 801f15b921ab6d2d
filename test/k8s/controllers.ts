/**
 * The few kube-controller-manager duties the test control plane cannot do
 * without, since it runs no controller-manager:
 *
 * - the service-account controller: a "default" ServiceAccount in every
 *   namespace (the ServiceAccount admission plugin rejects pods without one);
 * - the token controller: a legacy token Secret for every ServiceAccount (1.20's
 *   admission plugin refuses to admit a pod whose account has none), signed with
 *   the cluster's key so the token authenticates;
 * - the namespace controller, roughly: a deleted namespace's common objects are
 *   deleted and the namespace is finalized, instead of staying Terminating.
 *
 * Garbage collection (ownerReferences), Jobs, ReplicaSets and node lifecycle
 * (NotReady after missed heartbeats, taint-based eviction) are not emulated.
 */
import type { KeyObject } from "node:crypto";
import { randomBytes } from "node:crypto";
import { isKubeApiError, PATCH, type KubeHttp, type KubeObject, type Reflector } from "./api.js";
import { legacyServiceAccountToken } from "./certs.js";

/** Namespaced collections a deleted namespace is emptied of (core group first). */
const NAMESPACED_COLLECTIONS = [
  "/api/v1/namespaces/{ns}/pods",
  "/api/v1/namespaces/{ns}/secrets",
  "/api/v1/namespaces/{ns}/configmaps",
  "/api/v1/namespaces/{ns}/serviceaccounts",
  "/api/v1/namespaces/{ns}/resourcequotas",
  "/api/v1/namespaces/{ns}/limitranges",
  "/api/v1/namespaces/{ns}/persistentvolumeclaims",
  "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
  "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
  "/apis/batch/v1/namespaces/{ns}/jobs",
  "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases",
];

interface ServiceAccount extends KubeObject {
  secrets?: { name: string }[];
}

interface Namespace extends KubeObject {
  status?: { phase?: string };
}

/** The controllers, running until `stop()`. */
export interface Controllers {
  /** Creates the namespace (if needed) and returns once pods can be admitted in it. */
  ensureNamespace(name: string): Promise<void>;
  stop(): void;
}

/** Starts the controllers; resolves once they have seen every existing namespace. */
export async function startControllers(http: KubeHttp, options: { signingKey: KeyObject; ca: string }): Promise<Controllers> {
  const accounts = new Map<string, Promise<void>>();
  const finalizing = new Set<string>();
  const errors: unknown[] = [];
  const ignoreConflict = (e: unknown) => {
    if (!(isKubeApiError(e) && e.status === 409)) throw e;
  };

  /** Makes sure `namespace/name` exists and has a token Secret (once, until the account is deleted). */
  const ensureAccount = (namespace: string, name: string, known?: ServiceAccount): Promise<void> => {
    const key = `${namespace}/${name}`;
    let p = accounts.get(key);
    if (!p) {
      p = (async () => {
        let sa = known;
        if (!sa) {
          sa = await http
            .request<ServiceAccount>("POST", `/api/v1/namespaces/${namespace}/serviceaccounts`, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name } })
            .catch(async (e: unknown) => {
              ignoreConflict(e);
              return http.request<ServiceAccount>("GET", `/api/v1/namespaces/${namespace}/serviceaccounts/${name}`);
            });
        }
        if ((sa.secrets ?? []).some((s) => s.name.startsWith(`${name}-token-`))) return;
        const secretName = `${name}-token-${randomBytes(3).toString("hex").slice(0, 5)}`;
        const token = legacyServiceAccountToken(options.signingKey, { namespace, secretName, serviceAccount: name, uid: sa.metadata.uid! });
        await http.request("POST", `/api/v1/namespaces/${namespace}/secrets`, {
          apiVersion: "v1",
          kind: "Secret",
          type: "kubernetes.io/service-account-token",
          metadata: { name: secretName, annotations: { "kubernetes.io/service-account.name": name, "kubernetes.io/service-account.uid": sa.metadata.uid } },
          data: {
            token: Buffer.from(token).toString("base64"),
            namespace: Buffer.from(namespace).toString("base64"),
            "ca.crt": Buffer.from(options.ca).toString("base64"),
          },
        });
        await http.request("PATCH", `/api/v1/namespaces/${namespace}/serviceaccounts/${name}`, { secrets: [...(sa.secrets ?? []), { name: secretName }] }, PATCH.merge);
      })();
      accounts.set(key, p);
      p.catch((e: unknown) => {
        accounts.delete(key);
        errors.push(e);
      });
    }
    return p;
  };

  const finalize = async (ns: string) => {
    for (const path of NAMESPACED_COLLECTIONS) {
      await http.request("DELETE", path.replace("{ns}", ns)).catch(() => {});
    }
    await http
      .request("PUT", `/api/v1/namespaces/${ns}/finalize`, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns }, spec: { finalizers: [] } })
      .catch(() => {});
    finalizing.delete(ns);
    for (const key of accounts.keys()) if (key.startsWith(`${ns}/`)) accounts.delete(key);
  };

  const namespaces: Reflector = http.reflect<Namespace>("/api/v1/namespaces", (e) => {
    const ns = e.object.metadata.name;
    if (e.type === "DELETED") return;
    if (e.object.metadata.deletionTimestamp) {
      if (!finalizing.has(ns)) {
        finalizing.add(ns);
        void finalize(ns);
      }
      return;
    }
    void ensureAccount(ns, "default").catch(() => {});
  });
  const serviceAccounts: Reflector = http.reflect<ServiceAccount>("/api/v1/serviceaccounts", (e) => {
    if (e.type === "DELETED") {
      accounts.delete(`${e.object.metadata.namespace}/${e.object.metadata.name}`);
      return;
    }
    if (e.object.metadata.deletionTimestamp) return;
    void ensureAccount(e.object.metadata.namespace!, e.object.metadata.name, e.object).catch(() => {});
  });
  await Promise.all([namespaces.synced, serviceAccounts.synced]);

  return {
    async ensureNamespace(name) {
      await http.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name } }).catch(ignoreConflict);
      await ensureAccount(name, "default");
    },
    stop() {
      namespaces.stop();
      serviceAccounts.stop();
    },
  };
}
