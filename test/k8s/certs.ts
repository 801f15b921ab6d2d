/**
 * Key material for the test control plane: self-signed serving certificates
 * (openssl, ECDSA P-256: a few milliseconds each) and the service-account
 * signing key, plus the legacy service-account token a token controller would
 * put in a `kubernetes.io/service-account-token` Secret.
 */
import { execFileSync } from "node:child_process";
import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** PEM files of a certificate and its key. */
export interface CertFiles {
  certPath: string;
  keyPath: string;
  cert: string;
  key: string;
}

/** Days a test certificate is valid: long enough for any test run. */
const CERT_DAYS = 2;

/**
 * A self-signed serving certificate for 127.0.0.1 and localhost, written to
 * `dir/name.crt` and `dir/name.key`. It is its own CA: clients trust it by
 * taking the certificate itself as their CA bundle.
 */
export function selfSignedCert(dir: string, name: string, commonName = "127.0.0.1"): CertFiles {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  execFileSync(
    "openssl",
    [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", keyPath, "-out", certPath, "-days", String(CERT_DAYS),
      "-subj", `/CN=${commonName}`, "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  return { certPath, keyPath, cert: readFileSync(certPath, "utf8"), key: readFileSync(keyPath, "utf8") };
}

/** The service-account key pair: the API server signs and verifies tokens with it. */
export interface ServiceAccountKeys {
  privateKeyPath: string;
  publicKeyPath: string;
  privateKey: KeyObject;
}

/** An ECDSA P-256 key pair for `--service-account-signing-key-file` / `--service-account-key-file`. */
export function serviceAccountKeys(dir: string): ServiceAccountKeys {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const privateKeyPath = join(dir, "sa.key");
  const publicKeyPath = join(dir, "sa.pub");
  writeFileSync(privateKeyPath, privateKey.export({ type: "pkcs8", format: "pem" }));
  writeFileSync(publicKeyPath, publicKey.export({ type: "spki", format: "pem" }));
  return { privateKeyPath, publicKeyPath, privateKey: createPrivateKey(readFileSync(privateKeyPath)) };
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

/**
 * A legacy (Secret-based) service-account token, as kube-controller-manager's
 * token controller signs it: the API server accepts it while the Secret exists.
 */
export function legacyServiceAccountToken(key: KeyObject, claims: { namespace: string; secretName: string; serviceAccount: string; uid: string }): string {
  const header = b64url(JSON.stringify({ alg: "ES256", typ: "JWT" }));
  const payload = b64url(
    JSON.stringify({
      iss: "kubernetes/serviceaccount",
      "kubernetes.io/serviceaccount/namespace": claims.namespace,
      "kubernetes.io/serviceaccount/secret.name": claims.secretName,
      "kubernetes.io/serviceaccount/service-account.name": claims.serviceAccount,
      "kubernetes.io/serviceaccount/service-account.uid": claims.uid,
      sub: `system:serviceaccount:${claims.namespace}:${claims.serviceAccount}`,
    }),
  );
  const signature = sign("sha256", Buffer.from(`${header}.${payload}`), { key, dsaEncoding: "ieee-p1363" });
  return `${header}.${payload}.${b64url(signature)}`;
}
