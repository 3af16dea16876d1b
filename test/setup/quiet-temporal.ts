import { DefaultLogger, Runtime } from '@temporalio/worker';

// Test output shows failures, not the SDK's routine worker state changes.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed in this process
}
