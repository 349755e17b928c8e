import {
  findTopic,
  writerSchemaOf,
  type ScheduleDelayedMessage,
  type SchemaRegistry,
} from '@openpenpal/contracts';
import { SchedulerError } from '@openpenpal/errors';
import { MAX_ID_LENGTH } from './store/index.ts';

export interface RequestRules {
  /** How far ahead a due time may lie. */
  maxHorizonMs: number;
  /** Largest payload + key + headers, in bytes. */
  maxRecordBytes: number;
  /** Topics allowed besides the catalogue: exact names, or prefixes ending in `*`. */
  extraTopics: readonly string[];
  registry: SchemaRegistry;
}

export interface RequestValidator {
  /** Throws a non-retryable SchedulerError naming what is wrong with a schedule request. */
  checkSchedule(request: ScheduleDelayedMessage, now: number): void;
  /** Throws when a cancel request's id cannot name a delayed message. */
  checkMessageId(id: string): void;
}

// C0 and C1 control characters and DEL.
const CONTROL_CHARACTERS = /\p{Cc}/u;

function rejected(
  code: 'VALIDATION_FAILED' | 'UNKNOWN_TOPIC' | 'PAYLOAD_TOO_LARGE',
  message: string,
  details: Record<string, unknown>,
): SchedulerError {
  return new SchedulerError(code, message, { details });
}

/** Bytes of everything the dispatcher will publish besides the topic name. */
function recordBytes(request: ScheduleDelayedMessage): number {
  let bytes = request.payload.length + Buffer.byteLength(request.target_key ?? '', 'utf8');
  for (const [name, value] of Object.entries(request.headers)) {
    bytes += Buffer.byteLength(name, 'utf8') + value.length;
  }
  return bytes;
}

/**
 * The rules a request must pass before anything reaches Redis. Every failure is non-retryable, so
 * the consumer dead-letters the request at once with the reason in its headers.
 */
export function createRequestValidator(rules: RequestRules): RequestValidator {
  const exact = new Set(rules.extraTopics.filter((pattern) => !pattern.endsWith('*')));
  const prefixes = rules.extraTopics.filter((pattern) => pattern.endsWith('*')).map((p) => p.slice(0, -1));

  const checkMessageId = (id: string): void => {
    if (id.length === 0 || id.length > MAX_ID_LENGTH) {
      throw rejected('VALIDATION_FAILED', `message_id must have 1 to ${MAX_ID_LENGTH} characters`, {
        field: 'message_id',
        length: id.length,
      });
    }
    // The same rule as the delay client's: an id is also a Redis field, a Kafka header and an
    // event-store stream name, where a NUL or another control character breaks or hides it.
    if (CONTROL_CHARACTERS.test(id)) {
      throw rejected('VALIDATION_FAILED', 'message_id must not contain control characters', {
        field: 'message_id',
      });
    }
  };

  const checkPayload = (request: ScheduleDelayedMessage, valueSchema: string): void => {
    let writer;
    try {
      writer = writerSchemaOf(rules.registry, request.payload);
    } catch (error) {
      // A fingerprint nobody here knows may be a newer version of the right schema: the delay
      // queue passes bytes through, so it must not force its own upgrade before every writer's.
      if ((error as { code?: unknown }).code === 'UNKNOWN_SCHEMA') return;
      throw rejected(
        'VALIDATION_FAILED',
        `payload is not Avro single-object encoding (${(error as Error).message})`,
        { field: 'payload', topic: request.target_topic },
      );
    }
    if (writer.name !== valueSchema) {
      throw rejected(
        'VALIDATION_FAILED',
        `payload is a ${writer.name} but ${request.target_topic} carries ${valueSchema}`,
        { field: 'payload', topic: request.target_topic, schema: writer.name, expected: valueSchema },
      );
    }
  };

  return {
    checkMessageId,
    checkSchedule: (request, now) => {
      checkMessageId(request.message_id);
      const due = request.due_at;
      if (!Number.isSafeInteger(due) || due < 0) {
        throw rejected('VALIDATION_FAILED', 'due_at must be a non-negative integer of epoch milliseconds', {
          field: 'due_at',
          dueAt: due,
        });
      }
      if (due > now + rules.maxHorizonMs) {
        throw rejected('VALIDATION_FAILED', `due_at ${due} lies more than ${rules.maxHorizonMs} ms ahead`, {
          field: 'due_at',
          dueAt: due,
          maxHorizonMs: rules.maxHorizonMs,
        });
      }
      const topic = request.target_topic;
      if (topic.trim().length === 0) {
        throw rejected('VALIDATION_FAILED', 'target_topic is empty', { field: 'target_topic' });
      }
      const spec = findTopic(topic);
      if (!spec && !exact.has(topic) && !prefixes.some((prefix) => topic.startsWith(prefix))) {
        throw rejected('UNKNOWN_TOPIC', `target_topic ${topic} is not in the catalogue`, {
          field: 'target_topic',
          topic,
        });
      }
      const bytes = recordBytes(request);
      if (bytes > rules.maxRecordBytes) {
        throw rejected(
          'PAYLOAD_TOO_LARGE',
          `payload, key and headers take ${bytes} bytes, more than the limit of ${rules.maxRecordBytes}`,
          { field: 'payload', bytes, limit: rules.maxRecordBytes },
        );
      }
      if (spec) checkPayload(request, spec.valueSchema);
    },
  };
}
