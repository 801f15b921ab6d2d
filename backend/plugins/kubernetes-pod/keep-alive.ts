/**
 * @kubernetes/client-node 1.4.0 builds a new https.Agent for every API call, so
 * every create, get and delete pays a TLS handshake. One kept-alive agent per
 * cluster server (renewed every few minutes, so rotated client certificates and
 * CAs in the kubeconfig are picked up) roughly doubles pod creation here.
 */
import type { Agent } from "node:http";
import type { KubeConfig } from "@kubernetes/client-node";

/** A fresh agent after this long; the previous one's sockets close when idle. */
const RENEW_MS = 5 * 60_000;

interface AgentFactory {
  createAgent(cluster: { server?: string; proxyUrl?: string } | null, options: Record<string, unknown>): Agent;
}

/** Makes `kubeConfig` hand out one kept-alive agent per server instead of one per call. */
export function keepAliveAgents(kubeConfig: KubeConfig): void {
  const target = kubeConfig as unknown as AgentFactory;
  if (typeof target.createAgent !== "function") return;
  const original = target.createAgent.bind(kubeConfig);
  let cached: { server: string; agent: Agent; at: number } | undefined;
  target.createAgent = (cluster, options) => {
    // Proxied clusters keep the library's own agents.
    if (!cluster?.server || cluster.proxyUrl) return original(cluster, options);
    const now = Date.now();
    if (!cached || cached.server !== cluster.server || now - cached.at > RENEW_MS) {
      cached = { server: cluster.server, agent: original(cluster, { ...options, keepAlive: true }), at: now };
    }
    return cached.agent;
  };
}
