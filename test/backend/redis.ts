// Redis for tests: the server on 127.0.0.1:6379 (NOTES.md). In CI it must be
// there; elsewhere the Redis suites skip with a one-line reason. Each test run
// works under key prefixes of its own and deletes them afterwards.
import { createClient } from "@keyv/redis";

/** The server the suites use; PETREL_TEST_REDIS_URL overrides it. */
export const REDIS_URL = process.env.PETREL_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

const connect = async () => {
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 3_000, reconnectStrategy: false } });
  client.on("error", () => undefined);
  await client.connect();
  return client;
};

/** Undefined when Redis answers; otherwise why not. In CI an unreachable server is an error, not a skip. */
export async function redisUnavailable(): Promise<string | undefined> {
  try {
    const client = await connect();
    await client.ping();
    await client.close();
    return undefined;
  } catch (error) {
    const reason = `Redis at ${REDIS_URL} is unreachable (${(error as Error).message})`;
    if (process.env.CI === "true") throw new Error(`${reason}; CI requires it`);
    return reason;
  }
}

let counter = 0;
const created: string[] = [];

/** A new key prefix for this run. */
export function newPrefix(): string {
  const name = `petrel-test:${process.pid}:${Date.now().toString(36)}:${counter++}`;
  created.push(name);
  return name;
}

/** Deletes every key under the prefixes this process made. */
export async function dropPrefixes(): Promise<void> {
  if (created.length === 0) return;
  const client = await connect();
  try {
    for (const prefix of created.splice(0)) {
      for await (const keys of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 500 })) {
        if (keys.length > 0) await client.del(keys);
      }
    }
  } finally {
    await client.close();
  }
}
