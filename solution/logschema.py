"""The log's shape, defined once: what lab 1 writes and every reader (lab 2's --from, query,
story) reads. OpenTelemetry Logs Data Model names, in the top-level form its trace-context
compatibility spec gives JSON logs; GenAI semantic conventions for the model's attributes.
"""

# Top-level fields of every line, in the order they are written.
TOP_LEVEL = ("timestamp", "severity_text", "severity_number", "body", "trace_id", "span_id",
             "parent_span_id", "attributes")
# What a line needs to be read at all.
REQUIRED = ("timestamp", "severity_number", "body", "trace_id", "span_id")
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
