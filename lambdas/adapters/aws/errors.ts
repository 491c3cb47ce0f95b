/** Failures of the AWS adapters that are not expected outcomes (those are results). */
export class AwsAdapterError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AwsAdapterError";
  }
}

/** A command name the runner has no SSM document for: configuration, not an incident outcome. */
export class UnknownDocumentError extends AwsAdapterError {
  constructor(name: string, known: readonly string[]) {
    super(`no SSM document is registered for command "${name}" (known: ${known.join(", ") || "none"})`);
    this.name = "UnknownDocumentError";
  }
}

/** The document of a command name was generated from another script than the request runs. */
export class DocumentMismatchError extends AwsAdapterError {
  constructor(name: string, documentScript: string, requestScript: string) {
    super(
      `the SSM document for command "${name}" runs ${documentScript}, but the request is for ${requestScript}: not sent`,
    );
    this.name = "DocumentMismatchError";
  }
}

/** An incident record too large for one DynamoDB item: keep evidence in S3 and reference it. */
export class RecordTooLargeError extends AwsAdapterError {
  constructor(incidentId: string, bytes: number) {
    super(`incident ${incidentId} record is ${bytes} bytes, over the DynamoDB item budget`);
    this.name = "RecordTooLargeError";
  }
}

/** The SDK's error name, whatever the shape (ServiceException, plain Error, mock rejection). */
export function awsErrorName(e: unknown): string {
  if (e && typeof e === "object") {
    const o = e as { name?: unknown; Code?: unknown; code?: unknown; __type?: unknown };
    for (const v of [o.name, o.Code, o.code, o.__type]) {
      if (typeof v === "string" && v !== "Error") return v.includes("#") ? (v.split("#").pop() ?? v) : v;
    }
  }
  return "Error";
}

const THROTTLING = new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "ProvisionedThroughputExceededException",
  "TooManyUpdates",
]);

export function isThrottling(e: unknown): boolean {
  return THROTTLING.has(awsErrorName(e));
}
