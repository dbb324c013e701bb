export * from "./generated.js";
export { RpcError, ConnectionError, TimeoutError } from "./errors.js";
export {
  CameraServiceClient,
  Subscription,
  connect,
  type ClientOptions,
  type ConnectionState,
  type Credential,
  type EventMeta,
  type EventOf,
  type ReconnectOptions,
  type SubscribeOptions,
  type SubscriptionEnd,
  type TopicPattern,
  type WebSocketConstructor,
} from "./client.js";
