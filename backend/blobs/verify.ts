/** Hashing bytes while they stream, with the checks every store applies. */
import { createHash, type Hash } from "node:crypto";
import { BLOB_ERRORS, BlobStoreError, type BlobPutOptions } from "./types.js";

/** Hashes and counts a stream chunk by chunk, failing as soon as it grows past its limit. */
export class StreamVerifier {
  private readonly hasher: Hash = createHash("sha256");
  size = 0;

  constructor(
    private readonly hash: string,
    private readonly options: BlobPutOptions,
  ) {
    const { expectedSize, maxBytes } = options;
    if (expectedSize !== undefined && maxBytes !== undefined && expectedSize > maxBytes) throw this.tooLarge(expectedSize);
  }

  private tooLarge(size: number): BlobStoreError {
    return new BlobStoreError(BLOB_ERRORS.TOO_LARGE, `blob ${this.hash}: ${size} bytes exceed the limit of ${this.options.maxBytes} bytes`, {
      hash: this.hash,
      limit: this.options.maxBytes,
    });
  }

  /** Accounts for one chunk; throws TOO_LARGE past the limit. */
  update(chunk: Uint8Array): void {
    this.size += chunk.byteLength;
    const { maxBytes, expectedSize } = this.options;
    if (maxBytes !== undefined && this.size > maxBytes) throw this.tooLarge(this.size);
    if (expectedSize !== undefined && this.size > expectedSize) throw this.sizeMismatch();
    this.hasher.update(chunk);
  }

  private sizeMismatch(): BlobStoreError {
    return new BlobStoreError(
      BLOB_ERRORS.SIZE_MISMATCH,
      `blob ${this.hash}: declared ${this.options.expectedSize} bytes, received ${this.size > this.options.expectedSize! ? "more" : this.size}`,
      { hash: this.hash, expected: this.options.expectedSize, actual: this.size },
    );
  }

  /** After the last chunk: throws unless the bytes hash to the declared key and match the declared size. */
  finish(): void {
    if (this.options.expectedSize !== undefined && this.size !== this.options.expectedSize) throw this.sizeMismatch();
    const actual = `sha256:${this.hasher.digest("hex")}`;
    if (actual !== this.hash) {
      throw new BlobStoreError(BLOB_ERRORS.INTEGRITY, `blob ${this.hash}: the ${this.size} bytes received hash to ${actual}; nothing was stored`, {
        hash: this.hash,
        actual,
        size: this.size,
      });
    }
  }
}

/** Chunks of any async source as Uint8Array (Node streams may yield strings when an encoding is set). */
export async function* bytesOf(body: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>): AsyncIterable<Uint8Array> {
  for await (const chunk of body) yield typeof chunk === "string" ? Buffer.from(chunk) : chunk;
}
