"""The per-invocation results CSV that `invoker replay` writes and `loadgen report` reads.

One row per issued call, in completion order, UTF-8, LF, with this header:

| column | meaning |
|---|---|
| `unit` | index of the load.json unit (0-based, warm-up units included) |
| `phase` | `warmup` or `measure` |
| `endpoint` | the load.json endpoint (host, no scheme, no port) |
| `invocation_id` | UUID of this call (also sent in vHiveMetadata); unique across workers |
| `scheduled_us` | when the call was due, µs from the run's start instant t0 |
| `sent_us` | when the call was handed to gRPC, µs from t0 |
| `lag_us` | `sent_us - scheduled_us`: the invoker's own lateness |
| `latency_us` | reply time minus `sent_us` (the classic, coordinated-omission-prone view) |
| `latency_from_schedule_us` | reply time minus `scheduled_us` (free of coordinated omission) |
| `status` | `OK` or the gRPC status code name (`UNAVAILABLE`, `DEADLINE_EXCEEDED`, ...) |
| `error` | the error detail, empty when OK |
| `service_us` | service time the function reported at the end of its reply, empty if none |

All times are integers. Failed calls have latencies too (time until the failure was known).
"""

COLUMNS = (
    "unit",
    "phase",
    "endpoint",
    "invocation_id",
    "scheduled_us",
    "sent_us",
    "lag_us",
    "latency_us",
    "latency_from_schedule_us",
    "status",
    "error",
    "service_us",
)

PHASE_WARMUP = "warmup"
PHASE_MEASURE = "measure"
