/**
 * Vitest's global setup: what must happen once, before any test file runs.
 *
 * In CI the Kubernetes suites must run, so the API server and scheduler they
 * need are built here the first time (test/k8s/build-kube.sh, about 10 minutes
 * on 2 cores; cached afterwards). Built inside a suite's hook instead, the build
 * raced every other suite for the two cores and outran the hook's timeout.
 */
import { ensureKubeBinaries, kubeBinaries } from "./k8s/cluster.js";

export default function setup(): void {
  if (process.env.CI !== "true" || kubeBinaries()) return;
  const started = Date.now();
  console.log("building kube-apiserver and kube-scheduler for the Kubernetes suites (once; build-kube.sh prints its progress) ...");
  const dir = ensureKubeBinaries();
  console.log(`built in ${Math.round((Date.now() - started) / 1000)} s, cached in ${dir}`);
}
