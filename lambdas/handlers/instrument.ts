import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
import type { Context } from "aws-lambda";

/** One Logger/Metrics/Tracer per function; service name and namespace come from POWERTOOLS_* env. */
export const logger = new Logger();
export const metrics = new Metrics({ defaultDimensions: {} });
export const tracer = new Tracer();

/**
 * Wraps a handler the way Powertools' middy middlewares would, without middy:
 * Lambda context in every log line, a subsegment per invocation, metrics flushed, one top-level catch
 * that logs and rethrows (Step Functions Catch/Retry decides what happens next).
 */
export function instrument<E, R>(
  name: string,
  fn: (event: E, context: Context) => Promise<R>,
): (event: E, context: Context) => Promise<R> {
  return async (event, context) => {
    logger.addContext(context);
    logger.appendKeys({ step: name });
    const segment = tracer.getSegment();
    const sub = segment?.addNewSubsegment(`## ${name}`);
    if (sub) tracer.setSegment(sub);
    tracer.annotateColdStart();
    try {
      const result = await fn(event, context);
      metrics.addMetric(`${name}Succeeded`, MetricUnit.Count, 1);
      return result;
    } catch (e) {
      metrics.addMetric(`${name}Failed`, MetricUnit.Count, 1);
      logger.error(`${name} failed`, e as Error);
      if (sub) tracer.addErrorAsMetadata(e as Error);
      throw e;
    } finally {
      sub?.close();
      if (segment) tracer.setSegment(segment);
      metrics.publishStoredMetrics();
      logger.removeKeys(["step"]);
    }
  };
}

/** Parse at the boundary; a bad event is a clear error, not a crash deep inside. */
export class InvalidEventError extends Error {
  constructor(step: string, issues: string) {
    super(`${step}: invalid input: ${issues}`);
    this.name = "InvalidEventError";
  }
}

/** The function's environment is not what the construct sets: one line naming each variable and what it should be. */
export class InvalidEnvironmentError extends Error {
  constructor(issues: string) {
    super(`the function's environment (set by the construct): ${issues}`);
    this.name = "InvalidEnvironmentError";
  }
}
