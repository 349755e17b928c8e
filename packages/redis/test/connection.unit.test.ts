import { describe, expect, it } from 'vitest';
import { parseClusterUrl } from '../src/index.ts';

describe('a Redis URL', () => {
  it('with one host is not a cluster', () => {
    expect(parseClusterUrl('redis://:secret@127.0.0.1:16379')).toBeUndefined();
    expect(parseClusterUrl('redis://127.0.0.1:6379/2')).toBeUndefined();
  });

  it('with several hosts names the nodes of a cluster and the login they share', () => {
    expect(
      parseClusterUrl('redis://delay-queue:p%40ss@127.0.0.1:27001,127.0.0.1:27002,node-3:27003'),
    ).toEqual({
      nodes: [
        { host: '127.0.0.1', port: 27001 },
        { host: '127.0.0.1', port: 27002 },
        { host: 'node-3', port: 27003 },
      ],
      username: 'delay-queue',
      password: 'p@ss',
      tls: false,
    });
  });

  it('takes a password without a user, TLS, and the default port', () => {
    expect(parseClusterUrl('rediss://:pw@a,b:7001')).toEqual({
      nodes: [
        { host: 'a', port: 6379 },
        { host: 'b', port: 7001 },
      ],
      password: 'pw',
      tls: true,
    });
  });

  it('refuses a node that is not a host:port', () => {
    expect(() => parseClusterUrl('redis://a:1,b:x')).toThrow(/"b:x", not a host:port/);
    expect(() => parseClusterUrl('redis://a:1,:2')).toThrow(/not a host:port/);
  });
});
