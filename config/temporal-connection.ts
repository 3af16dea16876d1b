import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';

/** How the engine reaches Temporal, as configured (config/env.ts): files are read by resolveTemporalConnection. */
export interface TemporalConnectionConfig {
  address: string;
  /** TEMPORAL_TLS_*: server CA, client certificate and key (mTLS), server name. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string; serverName?: string };
  /** TEMPORAL_API_KEY, or TEMPORAL_API_KEY_FILE (a mounted secret). */
  apiKey?: string;
  apiKeyFile?: string;
}

/** The part of @temporalio/client's and @temporalio/worker's ConnectionOptions that this sets. */
export interface TemporalConnectionOptions {
  address: string;
  /** true: TLS with Node's public CAs (Temporal Cloud with an API key); an object: the files read. */
  tls?: true | { serverRootCACertificate?: Buffer; clientCertPair?: { crt: Buffer; key: Buffer }; serverNameOverride?: string };
  apiKey?: string;
}

/**
 * Reads the TLS files and the API key file: every unreadable file is named at start
 * (a ConfigError), before any connection is tried. TLS is on when any TLS variable or an API
 * key is set (an API key is only sent over TLS); without them the connection is plaintext, as
 * to the local stack.
 */
export function resolveTemporalConnection(c: TemporalConnectionConfig): TemporalConnectionOptions {
  const problems: string[] = [];
  const read = (file: string, variable: string): Buffer | undefined => {
    try {
      return readFileSync(file);
    } catch (err) {
      problems.push(`${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      return undefined;
    }
  };
  const out: TemporalConnectionOptions = { address: c.address };
  let apiKey = c.apiKey;
  if (apiKey === undefined && c.apiKeyFile) {
    apiKey = read(c.apiKeyFile, 'TEMPORAL_API_KEY_FILE')?.toString('utf8').trim();
    if (apiKey === '') problems.push(`TEMPORAL_API_KEY_FILE: ${c.apiKeyFile} is empty`);
  }
  if (apiKey) out.apiKey = apiKey;
  const t = c.tls;
  if (t && (t.caFile || t.certFile || t.keyFile || t.serverName)) {
    const ca = t.caFile ? read(t.caFile, 'TEMPORAL_TLS_CA_FILE') : undefined;
    const crt = t.certFile ? read(t.certFile, 'TEMPORAL_TLS_CERT_FILE') : undefined;
    const key = t.keyFile ? read(t.keyFile, 'TEMPORAL_TLS_KEY_FILE') : undefined;
    out.tls = {
      ...(ca ? { serverRootCACertificate: ca } : {}),
      ...(crt && key ? { clientCertPair: { crt, key } } : {}),
      ...(t.serverName ? { serverNameOverride: t.serverName } : {}),
    };
  } else if (apiKey) {
    out.tls = true;
  }
  if (problems.length > 0) throw new ConfigError('Temporal connection', problems);
  return out;
}
