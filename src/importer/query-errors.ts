import type { ActivityInboundCallsInterceptor } from '@temporalio/worker';
import { DrizzleQueryError } from 'drizzle-orm/errors';

/**
 * A failed database query without its parameters. Drizzle's own error message lists every
 * parameter, header values such as PatientName included, and an activity's error message is
 * stored in the workflow history and logged by the worker.
 */
export class DatabaseQueryError extends Error {
  override readonly name = 'DatabaseQueryError';

  constructor(
    readonly query: string,
    /** SQLSTATE of the server's error, when the server answered. */
    readonly code: string | undefined,
    causeMessage: string,
  ) {
    const state = code ? ` (SQLSTATE ${code})` : '';
    super(`database query failed${state}: ${causeMessage}; query: ${query.slice(0, 160)}`);
  }
}

/** SQLSTATE of a database error, from the error itself or from the driver error it wraps. */
export function sqlState(error: unknown): string | undefined {
  const own = (error as { code?: unknown } | undefined)?.code;
  if (typeof own === 'string' && /^[0-9A-Z]{5}$/.test(own)) return own;
  if (error instanceof DrizzleQueryError) return sqlState(error.cause);
  return undefined;
}

/**
 * Tests whether the server rejected the data itself (SQLSTATE class 22, data exception), so that
 * running the same query again fails the same way.
 */
export function isDataRejection(error: unknown): boolean {
  return sqlState(error)?.startsWith('22') ?? false;
}

/**
 * Returns `error` with query parameters removed: a DrizzleQueryError becomes a DatabaseQueryError
 * that keeps the SQL text, the SQLSTATE and the driver's message, which names no values for the
 * errors Postgres raises on this schema. Other errors are returned unchanged.
 */
export function redactQueryError(error: unknown): unknown {
  if (!(error instanceof DrizzleQueryError)) return error;
  const cause = error.cause as Error | undefined;
  return new DatabaseQueryError(error.query, sqlState(error), cause?.message ?? 'no driver error');
}

/** Activity interceptor that applies redactQueryError to every activity failure. */
export function redactQueryErrors(): { inbound: ActivityInboundCallsInterceptor } {
  return {
    inbound: {
      async execute(input, next) {
        try {
          return await next(input);
        } catch (error) {
          throw redactQueryError(error);
        }
      },
    },
  };
}
