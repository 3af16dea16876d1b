import type { FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

/** Every API error has this shape: a code, a message, and the field at fault where there is one. */
export interface ApiErrorBody {
  error: { code: string; message: string; field?: string; problems?: Array<{ field: string; message: string }> };
}

export function apiError(code: string, message: string, field?: string): ApiErrorBody {
  return { error: { code, message, ...(field ? { field } : {}) } };
}

/** Validation errors name every field (as `body.facts.location.province`), not only the first. */
export function errorHandler(error: Error & { statusCode?: number; code?: string; validationContext?: string }, request: FastifyRequest, reply: FastifyReply): void {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = error.validationContext ?? 'body';
    const problems = error.validation.map((v) => ({
      field: [where, ...v.params.issue.path.map(String)].join('.'),
      message: v.params.issue.message,
    }));
    void reply.status(400).send({ error: { code: 'VALIDATION', message: `${problems.length} invalid field(s)`, field: problems[0]?.field, problems } });
    return;
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    void reply.status(413).send(apiError('BODY_TOO_LARGE', 'body: larger than the limit', 'body'));
    return;
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    void reply.status(415).send(apiError('UNSUPPORTED_MEDIA_TYPE', 'content-type: send application/json', 'content-type'));
    return;
  }
  if (error.statusCode === 400) {
    void reply.status(400).send(apiError('BAD_REQUEST', error.message, 'body'));
    return;
  }
  if (error.statusCode === 429) {
    void reply.status(429).send(apiError('RATE_LIMITED', 'too many requests for this identity: slow down'));
    return;
  }
  request.log.error({ err: { name: error.name, message: error.message } }, 'request failed');
  void reply.status(500).send(apiError('INTERNAL', 'the request failed; it is logged'));
}
