// The server configuration: flags > env > file > defaults, validated with errors
// that name the field and where its value came from.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { compileServerOptions, isConfigError, parseBytes, serverOptionsFromFlags, type ServerOptions } from "../../backend/index.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "petrel-config-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const compile = (flags: ServerOptions = {}, env: NodeJS.ProcessEnv = {}) => compileServerOptions(flags, env, dir);
const errorOf = (fn: () => unknown): { message: string; field: unknown; source: unknown } => {
  try {
    fn();
  } catch (error) {
    if (isConfigError(error)) return { message: error.message, field: error.details.field, source: error.details.source };
    throw error;
  }
  throw new Error("expected a ConfigError");
};

describe("server configuration", () => {
  it("defaults to SQLite and local blobs under the data dir, on 127.0.0.1", () => {
    const c = compile();
    expect(c).toMatchObject({
      dataDir: join(dir, ".petrel", "server"),
      db: { kind: "sqlite", path: join(dir, ".petrel", "server", "petrel.sqlite") },
      blobs: { kind: "fs", root: join(dir, ".petrel", "server", "blobs") },
      host: "127.0.0.1",
      port: 8470,
      domains: ["development", "staging", "production"],
      insecureLocal: false,
    });
    expect(c.sources.db).toBe("default");
    expect(compile({}, { PETREL_HOME: "/srv/petrel" }).dataDir).toBe("/srv/petrel/server");
  });

  it("takes flags over environment over file over defaults", () => {
    const file = join(dir, "server.json");
    writeFileSync(file, JSON.stringify({ port: 9001, host: "127.0.0.2", domains: ["dev", "prod"], maxBlobBytes: "1Gi" }));
    const c = compile({ configFile: file, port: 9003 }, { PETREL_PORT: "9002", PETREL_HOST: "::1" });
    expect(c.port).toBe(9003);
    expect(c.host).toBe("::1");
    expect(c.domains).toEqual(["dev", "prod"]);
    expect(c.maxBlobBytes).toBe(1024 ** 3);
    expect(c.sources).toMatchObject({ port: "flag", host: "env", domains: "file", maxBlobBytes: "file", db: "default" });
    expect(compile({}, { PETREL_CONFIG: file }).port).toBe(9001);
  });

  it("reads --db and --blobs URLs, taking S3 endpoint and region from the AWS variables", () => {
    const c = compile(
      { db: "postgres://postgres@127.0.0.1:5432/petrel", dbSchema: "petrel", blobs: "s3://ml-data/petrel/prod" },
      { AWS_ENDPOINT_URL: "http://127.0.0.1:9000", AWS_REGION: "eu-west-1" },
    );
    expect(c.db).toEqual({ kind: "postgres", url: "postgres://postgres@127.0.0.1:5432/petrel", schema: "petrel" });
    expect(c.blobs).toEqual({ kind: "s3", bucket: "ml-data", prefix: "petrel/prod/", endpoint: "http://127.0.0.1:9000", region: "eu-west-1", forcePathStyle: true });
    expect(compile({ blobs: "s3://ml-data" }).blobs).toMatchObject({ prefix: "", forcePathStyle: false });
    expect(compile({ db: "sqlite:/var/lib/petrel/p.sqlite" }).db).toEqual({ kind: "sqlite", path: "/var/lib/petrel/p.sqlite" });
    expect(compile({ db: "./meta.db" }).db).toEqual({ kind: "sqlite", path: join(dir, "meta.db") });
    expect(compile({ blobs: "file:/data/blobs" }).blobs).toEqual({ kind: "fs", root: "/data/blobs" });
  });

  it.each([
    [{ port: "http" }, {}, "port", "port (flag): \"http\" is not a port number"],
    [{}, { PETREL_PORT: "70000" }, "port", "port (PETREL_PORT)"],
    [{ db: "mysql://x" }, {}, "db", "is not sqlite"],
    [{ db: "postgres://u:secret@h/db", dbSchema: "x" }, {}, undefined, undefined],
    [{ dbSchema: "x" }, {}, "dbSchema", "only applies to a postgres"],
    [{ blobs: "s3://b/../x" }, {}, "blobs", "without \"..\""],
    [{ blobs: "ftp://x" }, {}, "blobs", "is not fs"],
    [{ domains: "dev,dev" }, {}, "domains", "names a domain twice"],
    [{ domains: "dev,../prod" }, {}, "domains", "is not a name"],
    [{ maxBlobBytes: "lots" }, {}, "maxBlobBytes", "is not a byte size"],
    [{ insecureLocal: true, host: "0.0.0.0" }, {}, "insecureLocal", "only allowed on a loopback host"],
    [{}, { PETREL_INSECURE_LOCAL: "maybe" }, "insecureLocal", "is not true or false"],
    [{}, { PETREL_ADMIN_TOKEN: "short" }, "adminToken", "at least 16 characters"],
  ] as [ServerOptions, NodeJS.ProcessEnv, string | undefined, string | undefined][])("validates %j %j", (flags, env, field, says) => {
    if (field === undefined) {
      expect(() => compile(flags, env)).not.toThrow();
      return;
    }
    const e = errorOf(() => compile(flags, env));
    expect(e.field).toBe(field);
    expect(e.message).toContain(says);
  });

  it("puts the catalog in <dataDir>/catalog.sqlite unless PETREL_CATALOG_URL, the file or the option names another", () => {
    expect(compile().catalog).toEqual({ kind: "sqlite", path: join(dir, ".petrel", "server", "catalog.sqlite") });
    expect(compile().sources.catalog).toBe("default");
    const file = join(dir, "server.json");
    writeFileSync(file, JSON.stringify({ catalog: "redis://cache:6379/2?prefix=petrel:prod" }));
    expect(compile({ configFile: file })).toMatchObject({ catalog: { kind: "redis", url: "redis://cache:6379/2", prefix: "petrel:prod" }, sources: { catalog: "file" } });
    const env = { PETREL_CATALOG_URL: "postgres://petrel:pw@db:5432/petrel?schema=cache&sslmode=require" };
    expect(compile({ configFile: file }, env).catalog).toEqual({ kind: "postgres", url: "postgres://petrel:pw@db:5432/petrel?sslmode=require", schema: "cache" });
    expect(compile({ catalog: "postgresql://db/petrel" }, env)).toMatchObject({ catalog: { kind: "postgres", url: "postgresql://db/petrel" }, sources: { catalog: "flag" } });
    expect(compile({ catalog: "rediss://:pw@cache:6380" }).catalog).toEqual({ kind: "redis", url: "rediss://:pw@cache:6380" });
    expect(compile({ catalog: "sqlite:/var/lib/petrel/catalog.sqlite" }).catalog).toEqual({ kind: "sqlite", path: "/var/lib/petrel/catalog.sqlite" });
    expect(compile({ catalog: "./cache.db" }).catalog).toEqual({ kind: "sqlite", path: join(dir, "cache.db") });
  });

  it.each([
    [{ catalog: "mysql://root:hunter2@db/x" }, {}, "catalog (flag): \"mysql://root:***@db/x\" is not sqlite, sqlite:<path>, a .sqlite file, postgres://... or redis://..."],
    [{}, { PETREL_CATALOG_URL: "memcached://cache" }, "catalog (PETREL_CATALOG_URL): \"memcached://cache\" is not sqlite"],
    [{ catalog: "s3://bucket/catalog.db" }, {}, "is not sqlite"],
    [{ catalog: "sqlite:" }, {}, "sqlite: needs a file path"],
    [{ catalog: "postgres://db/x?schema=Bad-Name" }, {}, "schema \"Bad-Name\" is not a lowercase identifier"],
    [{ catalog: "redis://cache?prefix=a*b" }, {}, "prefix \"a*b\" is not 1-128 of"],
  ] as [ServerOptions, NodeJS.ProcessEnv, string][])("rejects the catalog %j %j, naming the field", (flags, env, says) => {
    const e = errorOf(() => compile(flags, env));
    expect(e.field).toBe("catalog");
    expect(e.message).toContain(says);
    expect(e.message).not.toContain("hunter2");
  });

  it("never shows a database password in errors", () => {
    const e = errorOf(() => compile({ db: "mysql://root:hunter2@db/x" }));
    expect(e.message).not.toContain("hunter2");
  });

  it("rejects unknown fields in the config file, naming them", () => {
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ prot: 80 }));
    const e = errorOf(() => compile({ configFile: file }));
    expect(e).toMatchObject({ field: "prot", source: "file" });
    expect(e.message).toContain('unknown field "prot"');
  });

  it("allows --insecure-local on loopback only when asked", () => {
    expect(compile().insecureLocal).toBe(false);
    expect(compile({ insecureLocal: true }).insecureLocal).toBe(true);
    expect(compile({}, { PETREL_INSECURE_LOCAL: "1" }).insecureLocal).toBe(true);
  });

  it("runs the scheduler unless --no-scheduler or PETREL_SCHEDULER=0 says not to", () => {
    expect(compile().scheduler).toBe(true);
    expect(compile({}, { PETREL_SCHEDULER: "0" }).scheduler).toBe(false);
    expect(compile(serverOptionsFromFlags({ scheduler: false })).scheduler).toBe(false);
    expect(() => compile({}, { PETREL_SCHEDULER: "sometimes" })).toThrow(/scheduler.*"sometimes" is not true or false/);
  });

  it("parses byte sizes", () => {
    expect(parseBytes("64Ki", "x", "flag")).toBe(65536);
    expect(parseBytes("10G", "x", "flag")).toBe(1e10);
    expect(parseBytes("512MiB", "x", "flag")).toBe(512 * 1024 ** 2);
    expect(parseBytes(1234, "x", "flag")).toBe(1234);
  });

  it("selects the kubernetes runner with its kubeconfig, namespace template and image from flags, env or file", () => {
    const kubeconfig = join(dir, "kubeconfig.yaml");
    writeFileSync(kubeconfig, "apiVersion: v1\nkind: Config\n");
    expect(compile({ runner: "kubernetes" }).runner).toEqual({ kind: "kubernetes", namespace: "petrel-{project}-{domain}" });
    const fromEnv = compile({}, { PETREL_RUNNER: "kubernetes", PETREL_KUBECONFIG: "kubeconfig.yaml", PETREL_K8S_NAMESPACE: "ml-{project}-{domain}", PETREL_K8S_IMAGE: "registry.example.com/petrel-runtime:1" });
    expect(fromEnv.runner).toEqual({ kind: "kubernetes", kubeconfig, namespace: "ml-{project}-{domain}", image: "registry.example.com/petrel-runtime:1" });
    expect(fromEnv.sources).toMatchObject({ runner: "env", kubeconfig: "env", k8sNamespace: "env", k8sImage: "env" });
    const file = join(dir, "server.json");
    writeFileSync(file, JSON.stringify({ runner: "kubernetes", k8sNamespace: "team-a", k8sImage: "img:2", advertiseUrl: "http://petrel.petrel.svc:8470/" }));
    const fromFile = compile({ configFile: file, k8sImage: "img:3" });
    expect(fromFile.runner).toEqual({ kind: "kubernetes", namespace: "team-a", image: "img:3" });
    expect(fromFile.advertiseUrl).toBe("http://petrel.petrel.svc:8470");
    expect(fromFile.sources).toMatchObject({ k8sNamespace: "file", k8sImage: "flag", advertiseUrl: "file" });
    expect(compile({}, { PETREL_ADVERTISE_URL: "https://petrel.example.com" }).advertiseUrl).toBe("https://petrel.example.com");
    expect(compile().advertiseUrl).toBeUndefined();
  });

  it.each([
    [{ runner: "k8s" }, {}, "runner", "is not process, warm, warm:<workers>, kubernetes or none"],
    [{ runner: "kubernetes", kubeconfig: "missing.yaml" }, {}, "kubeconfig", "missing.yaml does not exist"],
    [{ runner: "kubernetes" }, { PETREL_K8S_NAMESPACE: "petrel_{project}" }, "k8sNamespace", "k8sNamespace (PETREL_K8S_NAMESPACE): \"petrel_{project}\" is not a namespace template"],
    [{ runner: "kubernetes", k8sNamespace: "p-{project}-{user}" }, {}, "k8sNamespace", "is not a namespace template"],
    [{ runner: "kubernetes", k8sImage: "my image" }, {}, "k8sImage", "is not an image reference"],
    [{ k8sImage: "img:1" }, {}, "k8sImage", "only applies to the kubernetes runner"],
    [{ runner: "warm", kubeconfig: "x" }, {}, "kubeconfig", "only applies to the kubernetes runner (--runner kubernetes), not warm"],
    [{}, { PETREL_K8S_NAMESPACE: "ns" }, "k8sNamespace", "k8sNamespace (PETREL_K8S_NAMESPACE): only applies"],
    [{ advertiseUrl: "petrel:8470" }, {}, "advertiseUrl", "is not an http(s) base URL"],
    [{ advertiseUrl: "ftp://petrel" }, {}, "advertiseUrl", "is not an http(s) base URL"],
  ] as [ServerOptions, NodeJS.ProcessEnv, string, string][])("validates the runner options %j %j", (flags, env, field, says) => {
    const e = errorOf(() => compile(flags, env));
    expect(e.field).toBe(field);
    expect(e.message).toContain(says);
  });

  it("maps command-line flags to options, leaving unset ones to env, file and defaults", () => {
    expect(serverOptionsFromFlags({ port: "0", insecureLocal: false, config: "c.json" })).toEqual({ port: "0", configFile: "c.json" });
  });
});
