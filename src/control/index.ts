export { ControlServer, type ControlServerOptions, type ControlHandler, type ControlHandlerOptions, type ControlCallInfo, type ControlServerStats } from './server.ts';
export { ControlClient, type ControlClientOptions, type ControlEventListener, type ControlEventInfo } from './client.ts';
export { PROTOCOL_VERSION, type HelloResult } from './protocol.ts';
export { ControlMethods, ControlTopics, type LinkParams, type SendParams } from './methods.ts';
export { CONTROL_DIR_ENV, SOCKET_PATH_ENV, clientSocketPath, serverSocketLocation } from './socket-path.ts';
export * from './errors.ts';
