"""Send the scheduler the events another OpenPenPal service publishes (docs/topics.md, "Sending inbound events").

    pip install fastavro==1.12.1 kafka-python==2.2.15
    python examples/python/send_inbound.py future-letter-scheduled <letterId> <ISO time with offset>
    python examples/python/send_inbound.py future-letter-cancelled <letterId>
    python examples/python/send_inbound.py ai-reply <letterId> <userId> <persona> <IANA zone> <delay>
        delay: hours:24 | preset:tomorrow_morning | relative:<days>:<hours>:<minutes> | at:<ISO time>
    python examples/python/send_inbound.py courier-accepted <taskId> <courierId> [<ISO time>]
    python examples/python/send_inbound.py courier-delivered <taskId>
    python examples/python/send_inbound.py courier-failed <taskId> [reason]

Run from the repository root (it reads schemas/). KAFKA_BROKERS (default 127.0.0.1:19092) and, for a
broker with SCRAM, KAFKA_SASL_MECHANISM / KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD.
Values are Avro single-object encoding: C3 01, the writer schema's fingerprint (little-endian), the body.
"""

import io
import json
import os
import sys
import time
import uuid
from datetime import datetime

from fastavro import parse_schema, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form
from kafka import KafkaProducer


def encode(schema_file: str, value: dict) -> bytes:
    with open(schema_file, encoding="utf-8") as f:
        schema_json = json.load(f)
    fp = fingerprint(to_parsing_canonical_form(schema_json), "CRC-64-AVRO")
    body = io.BytesIO()
    schemaless_writer(body, parse_schema(schema_json), value)
    return b"\xc3\x01" + bytes.fromhex(fp) + body.getvalue()


def millis(iso: str) -> int:
    at = datetime.fromisoformat(iso)
    if at.tzinfo is None:
        sys.exit(f"{iso}: the time needs an offset, e.g. 2026-12-24T20:00:00+08:00")
    return int(at.timestamp() * 1000)


def ai_delay(spec: str):
    kind, _, rest = spec.partition(":")
    ns = "org.openpenpal.platform."
    if kind == "hours":
        return (ns + "AiReplyDelayHours", {"delayHours": int(rest)})
    if kind == "preset":
        return (ns + "AiReplyDelayPreset", {"preset": rest})
    if kind == "relative":
        days, hours, minutes = (int(x) for x in rest.split(":"))
        return (ns + "AiReplyDelayRelative", {"days": days, "hours": hours, "minutes": minutes})
    if kind == "at":
        return (ns + "AiReplyDelayAbsolute", {"at": millis(rest)})
    sys.exit(f"{spec}: not a delay (hours:24, preset:tomorrow_morning, relative:0:2:30, at:<ISO time>)")


def build(args: list[str]):
    """(topic, key, schema name, schema file, value) of one event; a union of records is (full name, record)."""
    now = int(time.time() * 1000)
    ns = "org.openpenpal.platform."
    command, rest = args[0], args[1:]
    if command == "future-letter-scheduled":
        letter_id, at = rest
        event = (ns + "FutureLetterScheduled", {"letterId": letter_id, "scheduledAt": millis(at), "timezone": None})
        return "openpenpal.letters.future-letters", letter_id, "FutureLetterEvent", {"occurredAt": now, "event": event}
    if command == "future-letter-cancelled":
        (letter_id,) = rest
        event = (ns + "FutureLetterCancelled", {"letterId": letter_id, "cancelledAt": now})
        return "openpenpal.letters.future-letters", letter_id, "FutureLetterEvent", {"occurredAt": now, "event": event}
    if command == "ai-reply":
        letter_id, user_id, persona, zone, delay = rest
        value = {
            "letterId": letter_id,
            "userId": user_id,
            "persona": persona,
            "timezone": zone,
            "requestedAt": now,
            "delay": ai_delay(delay),
        }
        return "openpenpal.ai.reply-requests", user_id, "AiReplyRequested", value
    if command == "courier-accepted":
        task_id, courier_id, *at = rest
        accepted = millis(at[0]) if at else now
        event = (ns + "CourierTaskAccepted", {"taskId": task_id, "courierId": courier_id, "acceptedAt": accepted})
        return "openpenpal.courier.task-events", task_id, "CourierTaskEvent", {"occurredAt": now, "event": event}
    if command == "courier-delivered":
        (task_id,) = rest
        event = (ns + "CourierTaskDelivered", {"taskId": task_id, "deliveredAt": now})
        return "openpenpal.courier.task-events", task_id, "CourierTaskEvent", {"occurredAt": now, "event": event}
    if command == "courier-failed":
        task_id, *reason = rest
        event = (ns + "CourierTaskFailed", {"taskId": task_id, "failedAt": now, "reason": reason[0] if reason else None})
        return "openpenpal.courier.task-events", task_id, "CourierTaskEvent", {"occurredAt": now, "event": event}
    sys.exit(__doc__)


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    try:
        topic, key, schema, value = build(sys.argv[1:])
    except ValueError:
        sys.exit(__doc__)
    event_id = str(uuid.uuid4())
    value = {"eventId": event_id, **value}
    payload = encode(f"schemas/{schema}/v1.avsc", value)
    sasl = {}
    if os.environ.get("KAFKA_SASL_MECHANISM"):
        sasl = {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": os.environ["KAFKA_SASL_MECHANISM"].upper(),
            "sasl_plain_username": os.environ["KAFKA_SASL_USERNAME"],
            "sasl_plain_password": os.environ["KAFKA_SASL_PASSWORD"],
        }
    producer = KafkaProducer(
        bootstrap_servers=os.environ.get("KAFKA_BROKERS", "127.0.0.1:19092").split(","),
        acks="all",
        **sasl,
    )
    # The key keeps an item's events in order; message-id lets consumers drop a redelivered copy.
    producer.send(
        topic,
        key=key.encode(),
        value=payload,
        headers=[("message-id", event_id.encode()), ("schema", schema.encode())],
    ).get(timeout=30)
    producer.flush()
    print(f"{sys.argv[1]}: event {event_id} sent to {topic} with key {key}")


if __name__ == "__main__":
    main()
