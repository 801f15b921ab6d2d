/** Errors raised by metadata stores. */
import { errorGuard, PetrelError } from "../../kernel/index.js";

/** A metadata store failed: a migration, a connection, or a constraint the caller should have checked. */
export class StoreError extends PetrelError {
  override name = "StoreError";
}
/** Guard for StoreError across realms. */
export const isStoreError = errorGuard<StoreError>("StoreError");

/** Stable codes of {@link StoreError}. */
export const STORE_ERRORS = {
  /** A unique key is taken (raced with another writer). */
  CONFLICT: "STORE_CONFLICT",
  /** The database's schema is newer than this code knows. */
  SCHEMA_TOO_NEW: "STORE_SCHEMA_TOO_NEW",
  /** A cursor was not made by this store or was tampered with. */
  BAD_CURSOR: "STORE_BAD_CURSOR",
  /** A store option is invalid. */
  CONFIG: "STORE_CONFIG",
} as const;
