import { configDefaults, defineConfig } from "vitest/config";

/**
 * Test files left out of the fast tier (`npm run test:unit`): builds of system packages, notebooks
 * run by Jupyter, browsers, Python cross-checks, benchmarks, tests that use a build (the CLI,
 * the "peftlab" package or the native addon), and files whose trainings or data take more than a
 * few seconds. `npm test` (what CI runs) builds, then runs every file,
 * these included. A new slow test file goes in this list (see "Tests" in README.md).
 */
export const SLOW_TESTS = [
  "test/bench/**",
  "test/notebooks/notebooks.test.ts",
  "**/*.browser.test.ts",
  "test/io/python-crosscheck.test.ts",
  "test/io/python-hf-names.test.ts",
  "test/io/python-nf4-adapter.test.ts",
  "test/pretrain.test.ts",
  "test/cli/run.test.ts",
  "test/cli/queue.test.ts",
  "test/cli/model-folders.test.ts",
  "test/api/api.test.ts",
  "test/cli/model-folders.test.ts",
  "test/io/weights-at-scale.test.ts",
  "test/runtime/data.test.ts",
  "test/runtime/beamlora.test.ts",
  "test/runtime/models.test.ts",
  "test/runtime/baselines.test.ts",
  "test/runtime/native-backend.test.ts",
  "test/runtime/native-ops.test.ts",
  "test/runtime/native-kernels.test.ts",
  "test/runtime/frozen-native.test.ts",
  "test/runtime/memory-savers-native.test.ts",
  "test/io/f32-store-native.test.ts",
  "test/big/**",
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: "unit", include: ["test/**/*.test.ts"], exclude: [...configDefaults.exclude, ...SLOW_TESTS] } },
      { extends: true, test: { name: "slow", include: SLOW_TESTS, exclude: [...configDefaults.exclude] } },
    ],
  },
});
