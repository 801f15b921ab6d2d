import { CoreV1Api, type V1Container, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dryRunApply, kubeBinaries, START_TIMEOUT_MS, podGone, startCluster, type TestCluster } from "./cluster.js";

const CI = process.env.CI === "true";
const enabled = CI || kubeBinaries() !== undefined;
const title = enabled
  ? "a real kube-apiserver and kube-scheduler with the fake kubelet"
  : "test cluster (skipped: kube-apiserver not built; `bash test/k8s/build-kube.sh` enables it)";
const NS = "cluster-test";

function pod(name: string, container: Partial<V1Container>, spec: Partial<V1Pod["spec"]> = {}): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS },
    spec: { restartPolicy: "Never", terminationGracePeriodSeconds: 5, ...spec, containers: [{ name: "main", image: "petrel/test:1", ...container }] },
  };
}

describe.skipIf(!enabled)(title, () => {
  let cluster: TestCluster;
  let core: CoreV1Api;

  beforeAll(async () => {
    cluster = await startCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    await cluster.createNamespace(NS);
  }, 2 * START_TIMEOUT_MS);

  afterAll(async () => {
    await cluster?.stop();
  });

  it("answers as a v1.20.2 API server with a Ready node", async () => {
    const version = await cluster.http.request<{ gitVersion: string }>("GET", "/version");
    expect(version.gitVersion).toMatch(/^v1\.20\.2/);
    const node = await core.readNode({ name: "petrel-node-1" });
    expect(node.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(node.spec?.taints ?? []).toEqual([]);
  });

  it("schedules a pod, runs its command, reports its exit code and serves its log through the API server", async () => {
    const script = "console.log('hi'); console.log('there'); process.exit(3)";
    await core.createNamespacedPod({ namespace: NS, body: pod("exit-3", { command: [process.execPath, "-e", script] }) });
    const done = await cluster.waitForPod(NS, "exit-3", (p) => p.status?.phase === "Failed");
    expect(done.spec.nodeName).toBe("petrel-node-1");
    expect(done.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 3, reason: "Error" });
    expect(await core.readNamespacedPodLog({ name: "exit-3", namespace: NS })).toBe("hi\nthere\n");
    expect(await core.readNamespacedPodLog({ name: "exit-3", namespace: NS, tailLines: 1 })).toBe("there\n");
  });

  it("kills a deleted pod's process and confirms the deletion", async () => {
    await core.createNamespacedPod({ namespace: NS, body: pod("sleeper", { command: ["sleep", "600"] }) });
    await cluster.waitForPod(NS, "sleeper", (p) => p.status?.phase === "Running");
    expect(cluster.kubelet.running()).toContain("sleeper");
    await core.deleteNamespacedPod({ name: "sleeper", namespace: NS });
    await expect.poll(() => podGone(cluster, NS, "sleeper"), { timeout: 10_000, interval: 50 }).toBe(true);
    expect(cluster.kubelet.running()).not.toContain("sleeper");
  });

  it("reports a process that grows past its memory limit as OOMKilled", async () => {
    const hog = "const a = []; setInterval(() => a.push(Buffer.alloc(4 << 20, 1)), 10)";
    await core.createNamespacedPod({
      namespace: NS,
      body: pod("hog", { command: [process.execPath, "-e", hog], resources: { limits: { memory: "64Mi" } } }),
    });
    const done = await cluster.waitForPod(NS, "hog", (p) => p.status?.phase === "Failed");
    expect(done.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 137, reason: "OOMKilled" });
  });

  it("keeps a pod that needs a missing Secret Pending with CreateContainerConfigError", async () => {
    await core.createNamespacedPod({
      namespace: NS,
      body: pod("no-secret", { command: ["true"], env: [{ name: "TOKEN", valueFrom: { secretKeyRef: { name: "absent", key: "token" } } }] }),
    });
    const waiting = await cluster.waitForPod(NS, "no-secret", (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === "CreateContainerConfigError");
    expect(waiting.status?.phase).toBe("Pending");
    expect(waiting.status?.containerStatuses?.[0]?.state?.waiting?.message).toBe('secret "absent" not found');
  });

  it("leaves a pod that asks for more CPU than the node has unscheduled", async () => {
    await core.createNamespacedPod({ namespace: NS, body: pod("too-big", { command: ["true"], resources: { requests: { cpu: "64" } } }) });
    const pending = await cluster.waitForPod(NS, "too-big", (p) => p.status?.conditions?.some((c) => c.type === "PodScheduled") ?? false);
    expect(pending.status?.phase).toBe("Pending");
    expect(pending.status?.conditions?.find((c) => c.type === "PodScheduled")).toMatchObject({ status: "False", reason: "Unschedulable" });
  });

  it("dry-runs manifests on the server: a valid pod passes unsaved, an invalid quantity fails with the server's message", async () => {
    const ok = await dryRunApply(cluster, pod("dry-ok", { command: ["true"] }));
    expect(ok.metadata?.uid).toBeTruthy();
    expect(await podGone(cluster, NS, "dry-ok")).toBe(true);
    await expect(dryRunApply(cluster, pod("dry-bad", { command: ["true"], resources: { limits: { memory: "12 gigs" } } }))).rejects.toThrow(
      /quantities must match the regular expression/,
    );
  });
});
