/** Errors of the postmortem module. Expected outcomes are results; these are for bad inputs. */
export class PostmortemError extends Error {
  override name = "PostmortemError";
}

/** A template failed to compile or render (strict mode: a field the model does not have). */
export class TemplateRenderError extends PostmortemError {
  override name = "TemplateRenderError";
  constructor(
    readonly template: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`template ${template}: ${message}`, options);
  }
}

/** Template files missing or unreadable. */
export class TemplateLoadError extends PostmortemError {
  override name = "TemplateLoadError";
}

/** No incident.json where one was expected. */
export class IncidentRecordNotFoundError extends PostmortemError {
  override name = "IncidentRecordNotFoundError";
}

/** incident.json is not JSON or does not match incidentRecordSchema. */
export class InvalidIncidentRecordError extends PostmortemError {
  override name = "InvalidIncidentRecordError";
}
