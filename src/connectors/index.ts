// What other layers import from the connectors (see docs/connectors.md).
export { PostgresConnector } from './postgres.ts';
export type { PostgresBackendConfig, PostgresOperation, OperationResult, Row, RunOptions, PostgresHealth, WireParam } from './postgres.ts';
export { HttpsJsonConnector } from './https-json.ts';
export type { HttpsJsonBackendConfig, HttpsEndpoint, HttpsJsonResponse, HttpsRequestOptions, JsonBodyValue } from './https-json.ts';
export { HttpsPaymentGateway } from './payment-gateway.ts';
export type { PaymentGateway, ChargeRequest, ChargeResult, DeclineReason } from './payment-gateway.ts';
export { BackendUnavailableError, ConnectorConfigError, EgressDeniedError } from './errors.ts';
export type { UnavailableReason } from './errors.ts';
export type { ConnectorLogger, SecretImporter, TlsFiles } from './types.ts';
export { silentLogger } from './types.ts';
