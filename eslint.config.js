import tseslint from 'typescript-eslint';

/**
 * Workflow code runs in Temporal's deterministic sandbox and is replayed: it may import only
 * @temporalio/workflow, types, and our own deterministic modules (workflows/, domain/, schemas types).
 */
const workflowRestrictions = {
  patterns: [
    { group: ['node:*'], message: 'Workflow code must not use Node built-ins (non-deterministic, not in the sandbox).' },
    { group: ['@temporalio/*', '!@temporalio/workflow', '!@temporalio/common'], message: 'Workflows import only @temporalio/workflow.' },
    { group: ['../activities/*', '../messaging/*', '../bridge/*', '../workers/*', '../config/*'], message: 'Workflows import activities as types only and nothing with I/O.', allowTypeImports: true },
    { group: ['zod', 'pino', 'kafkajs', 'uuid', 'nanoid'], message: 'Not deterministic or too heavy for the workflow sandbox: validate before the workflow.' },
  ],
  paths: [
    'fs', 'path', 'os', 'crypto', 'child_process', 'http', 'https', 'net', 'dns', 'timers', 'worker_threads',
  ].map((name) => ({ name, message: 'Workflow code must not use Node built-ins.' })),
};

export default tseslint.config(
  { ignores: ['node_modules/**', '.stack/**', 'bench/results/**', 'dist/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['workflows/**/*.ts', 'domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', workflowRestrictions],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use sleep() or condition() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() in a loop from @temporalio/workflow.' },
        { name: 'process', message: 'No process access in workflow code.' },
      ],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Use workflow random or ids from inputs.' }],
    },
  },
);
