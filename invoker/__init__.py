"""invoker: open-loop gRPC replay of load.json on worker nodes, and an emulator of the functions.

The worker side: it imports `loadcore`, never `loadgen`. Entry points: `replay.replay`,
`emulate.start` / `emulate.serve`, `emulator_process.emulator_process`; protocols in
`protocols` (one per function protocol, `protocols.PROTOCOLS`).
"""

import os

# gRPC core reads its experiments when grpc is first imported, so this comes before any module
# that imports grpc (all of them are in this package). Without the EventEngine client endpoint,
# replies are read on grpc.aio's completion-queue poller thread instead of being handed between
# three event_engine threads (which took ~30 % of the replay's core at 5,000 calls/s): at
# 6,000 calls/s send lag p50/p99 213/714 -> 111/411 µs, latency p50 2.3 -> 1.0 ms.
# A GRPC_EXPERIMENTS the user set wins.
os.environ.setdefault("GRPC_EXPERIMENTS", "-event_engine_client")

__all__ = ["clock", "dispatch", "emulate", "emulator_process", "faas_pb2", "grpc_internals", "helloworld_pb2", "processes",
           "protocols", "replay", "scaling", "schedule"]
