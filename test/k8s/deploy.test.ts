/**
 * deploy/: every manifest validates against the official schema (kubernetes-models),
 * the kustomization lists them all, the backend's Deployment and the runner's RBAC
 * agree, and in CI the API server accepts every one by server-side dry-run.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadAllYaml } from "@kubernetes/client-node";
import { Deployment } from "kubernetes-models/apps/v1";
import { ClusterRole, ClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service, ServiceAccount } from "kubernetes-models/v1";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dryRunApply, kubeBinaries, START_TIMEOUT_MS, startCluster, type TestCluster } from "./cluster.js";

const DEPLOY = join(import.meta.dirname, "..", "..", "deploy");
const MANIFESTS = readdirSync(DEPLOY).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [k: string]: unknown;
}

/** The official model of each kind deploy/ uses. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "v1/Namespace": Namespace,
  "v1/ServiceAccount": ServiceAccount,
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "rbac.authorization.k8s.io/v1/ClusterRole": ClusterRole,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": ClusterRoleBinding,
};

const documents: { file: string; manifest: Manifest }[] = MANIFESTS.flatMap((file) =>
  (loadAllYaml(readFileSync(join(DEPLOY, file), "utf8")) as Manifest[]).filter(Boolean).map((manifest) => ({ file, manifest })),
);

describe("deploy/ manifests", () => {
  it("each one validates against the official schema", () => {
    expect(documents.map((d) => d.manifest.kind).sort()).toEqual(["ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "Namespace", "PersistentVolumeClaim", "Secret", "Service", "ServiceAccount"]);
    for (const { file, manifest } of documents) {
      const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
      expect(Model, `${file}: no model for ${manifest.apiVersion} ${manifest.kind}`).toBeDefined();
      expect(() => new Model!(manifest as never).validate(), `${file}: ${manifest.kind} ${manifest.metadata.name}`).not.toThrow();
    }
  });

  it("the schema check catches a malformed manifest", () => {
    const deployment = structuredClone(documents.find((d) => d.manifest.kind === "Deployment")!.manifest) as unknown as { spec: { replicas: unknown } };
    deployment.spec.replicas = "one";
    expect(() => new Deployment(deployment as never).validate()).toThrow(/replicas/);
  });

  it("the kustomization lists every manifest", () => {
    const kustomization = loadAllYaml(readFileSync(join(DEPLOY, "kustomization.yaml"), "utf8"))[0] as { resources: string[] };
    expect([...kustomization.resources].sort()).toEqual([...MANIFESTS].sort());
  });

  it("the backend runs as the service account the RBAC binds, with the database from a Secret", () => {
    const deployment = documents.find((d) => d.manifest.kind === "Deployment")!.manifest as unknown as {
      spec: { template: { spec: { serviceAccountName: string; containers: { env: { name: string; valueFrom?: { secretKeyRef?: { name: string } } }[] }[] } } };
    };
    const binding = documents.find((d) => d.manifest.kind === "ClusterRoleBinding")!.manifest as unknown as { subjects: { name: string; namespace: string }[] };
    const pod = deployment.spec.template.spec;
    expect(binding.subjects).toContainEqual({ kind: "ServiceAccount", name: pod.serviceAccountName, namespace: "petrel" });
    expect(pod.containers[0]!.env.find((e) => e.name === "PETREL_DB")?.valueFrom?.secretKeyRef?.name).toBe("petrel-secrets");
    const role = documents.find((d) => d.manifest.kind === "ClusterRole")!.manifest as unknown as { rules: { resources: string[]; verbs: string[] }[] };
    const verbs = (resource: string) => role.rules.filter((r) => r.resources.includes(resource)).flatMap((r) => r.verbs);
    expect(verbs("pods").sort()).toEqual(["create", "delete", "get", "list", "watch"]);
    expect(verbs("pods/log")).toEqual(["get"]);
    expect(verbs("secrets")).toEqual([]);
  });
});

const CI = process.env.CI === "true";
const clusterEnabled = CI || kubeBinaries() !== undefined;

describe.skipIf(!clusterEnabled)(
  clusterEnabled ? "deploy/ against a real API server" : "deploy/ dry-run (skipped: kube-apiserver not built; `bash test/k8s/build-kube.sh` enables it)",
  () => {
    let cluster: TestCluster;
    beforeAll(async () => {
      cluster = await startCluster();
    }, 2 * START_TIMEOUT_MS);
    afterAll(async () => {
      await cluster?.stop();
    });

    it("accepts every manifest by server-side dry-run, and refuses a broken one with its reason", async () => {
      // The namespace first (dry-run, then for real), so the namespaced objects have somewhere to go.
      const ns = documents.find((d) => d.manifest.kind === "Namespace")!.manifest;
      await dryRunApply(cluster, ns as never);
      await cluster.createNamespace(ns.metadata.name);
      for (const { file, manifest } of documents) {
        if (manifest.kind === "Namespace") continue;
        await expect(dryRunApply(cluster, manifest as never), `${file}: ${manifest.kind} ${manifest.metadata.name}`).resolves.toBeDefined();
      }
      const deployment = structuredClone(documents.find((d) => d.manifest.kind === "Deployment")!.manifest) as unknown as {
        spec: { template: { spec: { containers: { resources: { requests: Record<string, string> } }[] } } };
      };
      deployment.spec.template.spec.containers[0]!.resources.requests.cpu = "lots";
      await expect(dryRunApply(cluster, deployment as never)).rejects.toThrow(/quantities must match the regular expression|cpu/);
    }, 60_000);
  },
);
