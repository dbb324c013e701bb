export * from "./generated.js";
export { RpcError, ConnectionError, TimeoutError } from "./errors.js";
export { CameraServiceClient, Subscription, connect, } from "./client.js";
