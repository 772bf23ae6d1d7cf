/**
 * The error texts nats-streaming-server puts in its responses' `error` fields (server/server.go,
 * its `Err*` variables and the ping response). Clients show them to users and some match on them,
 * so the words are the contract; one table.
 */
export const StanErrors = {
  invalidSubject: "stan: invalid subject",
  invalidStart: "stan: invalid start position",
  invalidSub: "stan: invalid subscription",
  clientAlreadyRegistered: "stan: clientID already registered",
  missingClient: "stan: clientID missing",
  invalidClientID: "stan: invalid clientID: only alphanumeric and `-` or `_` characters allowed",
  invalidAckWait: "stan: invalid ack wait time, should be >= 1s",
  invalidMaxInflight: "stan: invalid MaxInflight, should be >= 1",
  invalidConnReq: "stan: invalid connection request",
  invalidPubReq: "stan: invalid publish request",
  invalidSubReq: "stan: invalid subscription request",
  invalidUnsubReq: "stan: invalid unsubscribe request",
  invalidCloseReq: "stan: invalid close request",
  dupDurable: "stan: duplicate durable registration",
  invalidDurName: "stan: durable name of a durable queue subscriber can't contain the character ':'",
  unknownClient: "stan: unknown clientID",
  unknownChannel: "stan: unknown channel",
  /** nats-streaming-server's store errors, passed on as they are (stores/store.go: no `stan:` prefix). */
  tooManyChannels: "too many channels",
  tooManySubs: "too many subscriptions per channel",
  /** The ping response of a connection the server does not know (any more). */
  pingUnknownClient: "client has been replaced or is no longer registered",
} as const;
