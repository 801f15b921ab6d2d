// typescript-eslint's recommended rules plus what the type checker cannot give us:
// promises nobody awaits, import cycles, and the dependency direction of DESIGN.md.
import { defineConfig, globalIgnores } from "eslint/config";
import { createNodeResolver, importX } from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

const root = import.meta.dirname;

/** Top-level folders that hold TypeScript sources. */
const FOLDERS = ["kernel", "remote", "backend", "cli", "notebooks", "bench", "test"];

/** Folders whose public surface other folders may import. */
const LIBRARIES = ["kernel", "remote", "backend"];

/** Folders that the published package must never reach. */
const TOOLING = ["notebooks", "bench", "test"];

/**
 * A library folder's public surface is its index.ts and its subfolders'
 * index.ts (kernel/model/index.ts, backend/store/index.ts, ...); every other
 * file is internal to it. `from` and `except` must both be globs, absolute
 * because import-x matches them against the imported file's resolved path.
 */
const publicSurfaceOnly = LIBRARIES.map((folder) => ({
  target: FOLDERS.filter((other) => other !== folder).map((other) => `./${other}`),
  from: `${root}/${folder}/**`,
  except: [`${root}/${folder}/{,*/}index.ts`],
  message: `Import ${folder}/ only through its index.ts or a subfolder's index.ts.`,
}));

const dependencyDirection = [
  {
    target: "./kernel/model",
    from: "./kernel",
    except: ["./model"],
    message: "kernel/model is the plain-data contract and imports nothing else in the repo.",
  },
  {
    target: "./kernel",
    from: ["./remote", "./backend"],
    message: "kernel never imports remote or backend.",
  },
  {
    target: "./backend",
    from: "./kernel/jupyter",
    message: "backend never imports the Jupyter pieces.",
  },
  {
    target: LIBRARIES.map((folder) => `./${folder}`),
    from: TOOLING.map((folder) => `./${folder}`),
    message: "Library code never imports notebooks, benchmarks or tests.",
  },
];

export default defineConfig(
  globalIgnores(["dist/", "node_modules/", "coverage/"]),
  {
    files: [...FOLDERS.map((folder) => `${folder}/**/*.ts`), "*.ts"],
    extends: [tseslint.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: root },
    },
    plugins: { "import-x": importX },
    settings: {
      "import-x/extensions": [".ts", ".js"],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
      // NodeNext sources import "./x.js" for ./x.ts; resolve to the .ts file.
      "import-x/resolver-next": [
        createNodeResolver({
          extensions: [".ts", ".js", ".json", ".node"],
          extensionAlias: { ".js": [".ts", ".js"] },
        }),
      ],
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          caughtErrorsIgnorePattern: "^_",
          ignoreRestSiblings: true,
        },
      ],
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      "import-x/no-restricted-paths": [
        "error",
        { basePath: root, zones: [...dependencyDirection, ...publicSurfaceOnly] },
      ],
    },
  },
);
