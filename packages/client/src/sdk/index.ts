/** The SDK alone (`@chat/client/sdk`): no Node built-ins, so it bundles for browsers too. */
export { ApiError, HttpApi, type Credentials, type Friend, type FriendRequests, type Session } from './http';
export { ChatClient, ZERO_CURSOR, type ChatClientEvents, type ChatClientOptions, type Snapshot } from './client';
