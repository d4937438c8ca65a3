"""Every private grpcio attribute the invoker and the emulator use, and the check that they exist.

- Starting a call on a grpc.aio channel's Cython layer (`Channel._channel.call`, then
  `unary_unary` on the call object): what `UnaryUnaryMultiCallable.__call__` does underneath,
  minus its per-call Python (metadata objects, call wrappers, a weak-set registration), about a
  quarter of the invoker's CPU per call.
- Reading a finished call's status from that call object (`_status`: code, details, and the
  trailing metadata, where a reply may name its instance and cold start).
- The `:authority` of a call on the sync server (`context._rpc_event.call_details.host`),
  which grpcio hands servicers no public way to see; a Knative ingress routes on it.

`check()` runs when a command starts (`invoker replay`, `invoker emulate`): after a grpcio
upgrade that moved one of these, the command stops with one line naming the grpcio version,
rather than failing call by call.
"""

import time
from importlib.metadata import version

import grpc
import grpc._server
import grpc.aio._channel
from grpc._cython import cygrpc

from loadcore.errors import DependencyError

STATUS_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}
_REQUIRED = (
    ("grpc.aio channel's Cython channel (Channel._channel)", lambda: "_channel" in grpc.aio._channel.Channel.__init__.__code__.co_names),
    ("AioChannel.call", lambda: hasattr(cygrpc.AioChannel, "call")),
    ("_AioCall.unary_unary / is_ok / cancel / _status",
     lambda: all(hasattr(cygrpc._AioCall, name) for name in ("unary_unary", "is_ok", "cancel", "_status"))),
    ("AioRpcStatus.code / details / trailing_metadata",
     lambda: all(hasattr(cygrpc.AioRpcStatus, name) for name in ("code", "details", "trailing_metadata"))),
    ("the sync server's call event (_Context._rpc_event)", lambda: "_rpc_event" in grpc._server._Context.__init__.__code__.co_names),
    ("CallDetails.host", lambda: hasattr(cygrpc.CallDetails, "host")),
)


def check() -> None:
    """Raise `DependencyError` naming the grpcio version if one of the internals is missing."""
    missing = [what for what, present in _REQUIRED if not present()]
    if missing:
        raise DependencyError(
            f"grpcio {version('grpcio')} lacks {'; '.join(missing)}, which the invoker uses; "
            f"install the grpcio version pyproject.toml names"
        )


def unary_starter(channel: grpc.aio.Channel, method: str):
    """`start(request, timeout, metadata) -> (call, reply)` for raw-bytes unary calls of `method`.

    `reply` is a coroutine returning the reply's bytes; `call` answers `is_ok()` once done and
    `cancel(details)` at any time (see `failure` for a failed call's status).
    """
    begin = channel._channel.call
    path = method.encode()

    def start(request: bytes, timeout: float, metadata: tuple):
        call = begin(path, time.time() + timeout, None, None, 0)
        return call, call.unary_unary(request, metadata, None)

    return start


def failure(call) -> tuple[str, str]:
    """(status code name, details) of a call started by `unary_starter` that did not end OK."""
    status = call._status
    return STATUS_NAMES.get(status.code(), "UNKNOWN"), status.details()


def trailing_metadata(call) -> tuple:
    """The (key, value) trailing metadata of a finished call started by `unary_starter`."""
    return call._status.trailing_metadata()


def authority(context: grpc.ServicerContext) -> str:
    """The `:authority` of a call on the sync gRPC server."""
    return context._rpc_event.call_details.host.decode()
