export {
  SandboxedHttpClient,
  HTTP_AUDIT_CHANNEL,
  MAX_URL_LENGTH,
  type HttpRequest,
  type HttpResponse,
} from "./client.js";
export {
  HttpOptionsError,
  type HttpClientOptions,
  type HttpResolver,
  type ResolvedHttpOptions,
} from "./options.js";
export { HTTP_MESSAGES, HTTP_REFUSAL_CODES, type HttpErrorCode } from "./errors.js";
export { ALLOWED_METHODS, FORBIDDEN_HEADERS, MAX_HEADERS, MAX_HEADER_BYTES } from "./request-rules.js";
