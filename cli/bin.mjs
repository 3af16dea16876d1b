#!/usr/bin/env node
// `referrals` launcher (package.json "bin"): loads tsx's ESM hooks with the project's tsconfig,
// then runs the TypeScript entry in this process, so stdio, signals and the exit code are its own.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('./referrals.ts');
