/**
 * The catalog in Redis: entries through @keyv/redis, reservations as keys
 * holding their owner with a server-side expiry (`SET key owner PX ttl` when
 * free), taken, extended and released by Lua scripts, so each check-and-set is
 * one atomic step on the server whatever the number of backends.
 *
 * Redis expires reservations by its own clock: the catalog's clock option does
 * not move them (it only dates `expiresAt` = now + the key's remaining PTTL).
 * Entries never expire; size Redis with `maxmemory-policy noeviction` or
 * accept that an evicted entry is a miss.
 */
import type { BlobStore } from "../blobs/index.js";
import type { Clock } from "../clock.js";
import { createCatalogKeyv, createKeyvCatalog, redactUrl } from "./keyv-catalog.js";
import { CATALOG_ERRORS, CATALOG_PREFIX_PATTERN, CatalogError, type Catalog, type CatalogScope } from "./types.js";

/** The key prefix when none is given. */
export const DEFAULT_REDIS_PREFIX = "petrel:catalog";
/** Failed connection attempts before openCatalog gives up; once connected, the client reconnects for ever. */
const CONNECT_ATTEMPTS = 3;
const CONNECT_TIMEOUT_MS = 5_000;

/** Free, or already the caller's: (re)set with a new expiry. Otherwise report the holder and its remaining ms. */
const RESERVE = `
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1}
end
return {0, current, redis.call('PTTL', KEYS[1])}`;
const HEARTBEAT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Opens the catalog in Redis (`redis://` or `rediss://`), every key under `prefix`. */
export async function openRedisCatalog(url: string, prefix: string | undefined, clock: Clock, blobs?: BlobStore): Promise<Catalog> {
  const shown = redactUrl(url);
  if (!/^rediss?:\/\//.test(url)) {
    throw new CatalogError(CATALOG_ERRORS.CONFIG, `catalog: expected a redis:// URL, got ${JSON.stringify(shown)}`, { field: "url" });
  }
  const p = prefix ?? DEFAULT_REDIS_PREFIX;
  if (!CATALOG_PREFIX_PATTERN.test(p)) {
    throw new CatalogError(CATALOG_ERRORS.CONFIG, `catalog: prefix ${JSON.stringify(p)} is not 1-128 of A-Z a-z 0-9 _ . : / -`, { field: "prefix" });
  }
  const { default: KeyvRedis, createClient } = await import("@keyv/redis");
  let connected = false;
  const client = createClient({
    url,
    // A down Redis fails calls at once (CATALOG_UNAVAILABLE: the node runs) instead of queueing them until it is back.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectStrategy: (retries: number, cause: Error) => (!connected && retries >= CONNECT_ATTEMPTS ? cause : Math.min(50 * 2 ** retries, 2_000)),
    },
  });
  // Errors also reject the command that met them; the event would otherwise crash the process.
  client.on("error", () => undefined);
  try {
    await client.connect();
    connected = true;
  } catch (error) {
    // A client that gave up reconnecting has already closed itself.
    if (client.isOpen) client.destroy();
    throw new CatalogError(CATALOG_ERRORS.UNAVAILABLE, `catalog: cannot reach Redis at ${shown}: ${(error as Error).message}`, { kind: "redis" }, { cause: error });
  }
  const store = new KeyvRedis(client, { throwOnErrors: true });
  const reservationKey = (scope: CatalogScope, key: string) => `${p}:${scope.project}/${scope.domain}/reservation/${key}`;

  return createKeyvCatalog({
    kind: "redis",
    where: `${shown} prefix ${p}`,
    keyv: createCatalogKeyv(store),
    keyPrefix: `${p}:`,
    blobs,
    reservations: {
      async reserve(scope, key, owner, ttlMs) {
        const reply = (await client.eval(RESERVE, { keys: [reservationKey(scope, key)], arguments: [owner, String(ttlMs)] })) as [number, string?, number?];
        if (reply[0] === 1) return { acquired: true };
        return { acquired: false, owner: reply[1]!, expiresAt: clock.now() + Math.max(0, reply[2]!) };
      },
      async heartbeat(scope, key, owner, ttlMs) {
        return (await client.eval(HEARTBEAT, { keys: [reservationKey(scope, key)], arguments: [owner, String(ttlMs)] })) === 1;
      },
      async release(scope, key, owner) {
        await client.eval(RELEASE, { keys: [reservationKey(scope, key)], arguments: [owner] });
      },
    },
    close: async () => {
      await client.close();
    },
  });
}
