import { pino, type Logger } from 'pino';

/**
 * Paths pino removes from every log line. Personal data lives under `persons` and secrets under
 * key names; redacting them here means a careless log call still cannot leak them.
 */
export const redactPaths = [
  'persons',
  '*.persons',
  '*.*.persons',
  'referral.persons',
  'victims',
  '*.victims',
  'contact',
  '*.name',
  '*.contact',
  '*.health',
  '*.documents',
  '*[*].name',
  '*[*].contact',
  '*[*].health',
  'password',
  '*.password',
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'key',
  '*.secret',
];

export interface LoggerOptions {
  level: string;
  pretty?: boolean;
  name?: string;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino({
    name: options.name ?? 'referral-engine',
    level: options.level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    ...(options.pretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  });
}
