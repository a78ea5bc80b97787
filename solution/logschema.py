"""The log's shape, defined once: what lab 1 writes and every reader (lab 2's --from, query,
story) reads. OpenTelemetry Logs Data Model names, in the top-level form its trace-context
compatibility spec gives JSON logs; GenAI semantic conventions for the model's attributes.
"""

from __future__ import annotations

from typing import NamedTuple

# Top-level fields of every line, in the order they are written.
TOP_LEVEL = ("timestamp", "severity_text", "severity_number", "body", "trace_id", "span_id",
             "parent_span_id", "attributes")
# What a line needs to be read at all: a time and what happened (OpenTelemetry's logs data model:
# a record need not belong to a trace; the severity and the ids are read when they are there).
REQUIRED = ("timestamp", "body")
# OpenTelemetry SeverityNumber: ERROR is 17-20, FATAL 21-24; at or above this a line is an error.
ERROR_SEVERITY = 17

# The canonical line: one per request, written when its answer leaves, with what lab 2 needs.
REQUEST_COMPLETED = "request.completed"
TENANT, PRIORITY, TOPIC = "tenant", "priority", "topic"
STATUS = "http.response.status_code"
LATENCY_MS, TTFT_MS = "latency_ms", "ttft_ms"
INPUT_TOKENS, OUTPUT_TOKENS = "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"
MODEL = "gen_ai.request.model"
ERROR_TYPE = "error.type"


class Observation(NamedTuple):
    """A request as lab 2 reads it, from the story or from a log's request.completed line (the
    story's Request has these fields too, so the same code reads both)."""
    ts: float                   # start, seconds on the story's clock
    latency_ms: float
    ttft_ms: float | None
    status: int
    priority: str               # "interactive" or "batch"
    prompt_tokens: int
    completion_tokens: int
