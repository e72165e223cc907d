// Named template-stage errors: the state machine's Catch, the breaker and the run report read
// `name`; every one of them ends in the offline composer taking over.

function named(name: string) {
  return class extends Error {
    constructor(message: string, options?: ErrorOptions) {
      super(message, options);
      this.name = name;
    }
  };
}

/** The model's answer held no usable SVG, also after the one repair round. */
export class TemplateInvalidSvgError extends named('Template.InvalidSvg') {}
/** The model declined the prompt (stop reason or refusal field). */
export class TemplateRefusedError extends named('Template.Refused') {}
/** A call ran past its timeout, or the stage ran out of time. */
export class TemplateTimeoutError extends named('Template.Timeout') {}
/** 429 / throttling still after the last retry. */
export class TemplateThrottledError extends named('Template.Throttled') {}
/** 5xx, overloaded or connection failures still after the last retry. */
export class TemplateUnavailableError extends named('Template.Unavailable') {}
/** A 4xx the provider will answer the same way again: bad key, unknown model, bad request. */
export class TemplateProviderError extends named('Template.ProviderError') {}
/** The conversation grew past the prompt-size cap; refused before sending. */
export class TemplatePromptTooLargeError extends named('Template.PromptTooLarge') {}
/** The requested provider has no key, no model or is `offline`. */
export class TemplateNotConfiguredError extends named('Template.NotConfigured') {}
