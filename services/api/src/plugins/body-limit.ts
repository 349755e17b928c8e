import { Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import { errorCodes, type FastifyPluginCallback } from 'fastify';
import fastifyPlugin from 'fastify-plugin';

/**
 * A body over the limit is read to its end and thrown away, up to this many bytes, before the 413
 * is sent. Answering while the client is still uploading and closing the connection (fastify's own
 * behaviour) makes the kernel reset the connection over the unread bytes, and the client often sees
 * the reset instead of the 413. Bodies larger than this are refused at once and the connection is
 * closed: reading them would cost more than the clear answer is worth.
 */
export const DISCARD_LIMIT_BYTES = 16 * 1024 * 1024;

const tooLarge = () => new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE();

/**
 * Passes a body without a declared length (chunked) through up to `limit` bytes; past it, reads and
 * drops the rest and ends with the 413 error, or fails at once past DISCARD_LIMIT_BYTES.
 */
function limited(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen <= limit) return callback(null, chunk);
      if (seen > DISCARD_LIMIT_BYTES) return callback(tooLarge());
      return callback();
    },
    flush(callback) {
      callback(seen > limit ? tooLarge() : null);
    },
  });
}

/**
 * Refuses a request body over the route's body limit with 413 `PAYLOAD_TOO_LARGE` only after the
 * body has arrived (up to DISCARD_LIMIT_BYTES), so every client reads the answer and the
 * connection stays usable. A declared `content-length` over the limit is discarded here, before
 * the parser would refuse it unread; a chunked body is counted as it streams and refused at its end.
 */
const bodyLimit: FastifyPluginCallback = (app, _options, done) => {
  app.addHook('preParsing', async (request, reply, payload) => {
    const limit = request.routeOptions.bodyLimit;
    const header = request.headers['content-length'];
    if (header === undefined) {
      // No length and no chunked encoding: HTTP/1.1 says there is no body.
      if (request.headers['transfer-encoding'] === undefined) return payload;
      const counted = limited(limit);
      // pipe(), not pipeline(): a failing count must stop reading, not destroy the socket the
      // 413 still has to go out on.
      payload.on('error', (error) => counted.destroy(error));
      return payload.pipe(counted);
    }
    const declared = Number(header);
    if (!(declared > limit)) return payload;
    if (declared > DISCARD_LIMIT_BYTES) {
      void reply.header('connection', 'close');
    } else {
      await finished(payload.resume());
    }
    throw tooLarge();
  });
  // The parser asks for the connection to be closed after any refused body, read or not; one
  // read to its end leaves the connection in a clean state, so it is kept for the next request.
  app.addHook('onSend', async (request, reply) => {
    if (reply.statusCode === 413 && request.raw.complete && reply.getHeader('connection') === 'close') {
      reply.removeHeader('connection');
    }
  });
  done();
};

export const bodyLimitPlugin = fastifyPlugin(bodyLimit, { name: 'openpenpal-api-body-limit' });
