"""The hand-encoded protocols (helloworld, faas) agree with their .proto and its generated code."""

import ast
import json
import re
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from invoker import faas_pb2, helloworld_pb2, protocols
from invoker.protocols import faas, sayhello

INVOKER = Path(helloworld_pb2.__file__).parent


@pytest.mark.parametrize("generated", [helloworld_pb2, faas_pb2], ids=["helloworld", "faas"])
def test_committed_generated_code_matches_the_proto(tmp_path, generated):
    """Regenerate from the .proto with grpcio-tools: it must embed the committed descriptor."""
    proto = INVOKER / generated.DESCRIPTOR.name
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{INVOKER}", f"--python_out={tmp_path}", str(proto)],
        check=True,
    )
    module = f"{proto.stem}_pb2.py"
    assert embedded_descriptor(tmp_path / module) == generated.DESCRIPTOR.serialized_pb
    assert embedded_descriptor(INVOKER / module) == generated.DESCRIPTOR.serialized_pb


def embedded_descriptor(generated: Path) -> bytes:
    """The serialized FileDescriptorProto a generated _pb2 module registers."""
    for node in ast.walk(ast.parse(generated.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "AddSerializedFile":
            return node.args[0].value
    raise AssertionError(f"{generated}: no AddSerializedFile call")


@pytest.mark.parametrize(
    "generated, service, method, path",
    [(helloworld_pb2, "Greeter", "SayHello", sayhello.SAY_HELLO), (faas_pb2, "Executor", "Execute", faas.EXECUTE)],
)
def test_the_method_path_is_the_services(generated, service, method, path):
    descriptor = generated.DESCRIPTOR.services_by_name[service]
    assert path == f"/{descriptor.full_name}/{descriptor.methods_by_name[method].name}"


def test_request_bytes_are_what_protobuf_encodes_and_carry_the_vhive_metadata():
    builder = sayhello.RequestBuilder()
    invocation_id = protocols.new_invocation_id()
    sent_ns = 1_700_000_000_123_456_789
    raw = builder.build(invocation_id, sent_ns)

    request = helloworld_pb2.HelloRequest.FromString(raw)
    assert request.name == "Invoke relay"
    assert raw == helloworld_pb2.HelloRequest(name=request.name, vHiveMetadata=request.vHiveMetadata).SerializeToString()
    metadata = json.loads(request.vHiveMetadata.decode("utf-8"))
    assert list(metadata) == ["WorkflowId", "InvocationId", "InvokedOn"]
    assert metadata["WorkflowId"] == builder.workflow_id and uuid.UUID(builder.workflow_id).version == 4
    assert metadata["InvocationId"] == invocation_id
    assert metadata["InvokedOn"] == "2023-11-14T22:13:20.123456789Z"


def test_invoked_on_is_utc_with_nanoseconds_at_the_given_instant():
    builder = sayhello.RequestBuilder()
    for sent_ns in (time.time_ns(), 1_700_000_000_000_000_000, 1_700_000_000_000_000_001):
        stamp = json.loads(helloworld_pb2.HelloRequest.FromString(builder.build("x", sent_ns)).vHiveMetadata)["InvokedOn"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", stamp)
        whole = datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
        assert int(whole.timestamp()) * 10**9 + int(stamp[20:29]) == sent_ns


def test_workflow_id_is_fixed_per_builder_and_invocation_ids_are_unique_uuid4():
    builder = sayhello.RequestBuilder("wf-1")
    ids = [protocols.new_invocation_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in ids[:1000])
    for raw in (builder.build(ids[0], 0), builder.build(ids[1], 0)):
        assert json.loads(helloworld_pb2.HelloRequest.FromString(raw).vHiveMetadata)["WorkflowId"] == "wf-1"
    assert sayhello.RequestBuilder().workflow_id != sayhello.RequestBuilder().workflow_id


def reply(message: str) -> bytes:
    return helloworld_pb2.HelloReply(message=message).SerializeToString()


def test_service_time_is_read_from_both_relay_formats():
    assert sayhello.service_us(reply("Hello, Invoke relay | 1234")) == 1234
    assert sayhello.service_us(reply("Hello, Invoke relay|1234")) == 1234
    assert sayhello.service_us(reply("a | b | 77\n")) == 77
    assert sayhello.service_us(reply("x" * 500 + " | 9")) == 9  # two-byte length prefix


def test_replies_without_a_trailing_integer_have_no_service_time():
    for message in ("", "Hello", "Hello | ", "Hello | 12ms", "Hello | -5", "Hello 12"):
        assert sayhello.service_us(reply(message)) is None


def test_reply_message_decodes_what_protobuf_encodes_and_skips_unknown_fields():
    assert sayhello.reply_message(reply("héllo | 5")) == "héllo | 5"
    assert sayhello.reply_message(b"") == ""
    unknown_fields = b"\x10\x96\x01" + reply("hi | 3") + b"\x1a\x02ab" + b"\x25\x00\x00\x00\x00"
    assert sayhello.reply_message(unknown_fields) == "hi | 3"
    assert sayhello.service_us(unknown_fields) == 3


def test_endpoint_metadata_is_a_valid_grpc_header():
    ((key, value),) = protocols.endpoint_metadata("fn-1.default.example.com")
    assert key == protocols.ENDPOINT_HEADER == key.lower() and value == "fn-1.default.example.com"


def test_grpc_internals_are_checked_at_start_up_and_a_missing_one_is_one_line(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from invoker import grpc_internals
    from invoker.cli import app

    grpc_internals.check()
    monkeypatch.setattr(grpc_internals, "_REQUIRED", (*grpc_internals._REQUIRED, ("Channel.teleport", lambda: False)))
    load = tmp_path / "load.json"
    load.write_text('[{"timestamp": [0], "endpoint": ["fn.example.com"]}]')
    result = CliRunner().invoke(app, ["replay", str(load), "--output", str(tmp_path / "out.csv")])
    assert result.exit_code == 1
    assert re.fullmatch(r"Error: grpcio \d+\.\d+\.\d+ lacks Channel\.teleport, which the invoker uses; install the "
                        r"grpcio version pyproject.toml names\n", result.output)
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    "runtime_ms, memory_mib", [(1, 1), (127, 128), (60_000, 10_240), (2**32 - 1, 2**21), (0, 0), (5, 0), (0, 7)]
)
def test_faas_request_bytes_are_what_protobuf_encodes(runtime_ms, memory_mib):
    invocation_id = protocols.new_invocation_id()
    raw = faas.encode_request(invocation_id, runtime_ms, memory_mib)
    expected = faas_pb2.FaasRequest(message=invocation_id, runtimeInMilliSec=runtime_ms, memoryInMebiBytes=memory_mib)
    assert raw == expected.SerializeToString()
    assert faas_pb2.FaasRequest.FromString(raw) == expected
    assert faas.encode_request("", 3, 4) == faas_pb2.FaasRequest(runtimeInMilliSec=3, memoryInMebiBytes=4).SerializeToString()


@pytest.mark.parametrize(
    "message, duration_us, memory_kb, status, instance",
    [("OK - trace-func-abc-00001-deployment-7d9f", 1_000_123, 131_072, "OK", "trace-func-abc-00001-deployment-7d9f"),
     ("", 0, 0, "OK", ""), ("FAILURE - mem_alloc timeout - h", 2**32 - 1, 1, "MEM_ALLOC_FAILURE", ""),
     ("FAILURE - mem_alloc timeout - trace-func-9-00002-deployment-5c", 70, 1, "MEM_ALLOC_FAILURE",
      "trace-func-9-00002-deployment-5c")],
)
def test_faas_replies_give_status_duration_memory_and_instance(message, duration_us, memory_kb, status, instance):
    """The instance is the message's text from `trace-func` on (reference §6.2); the reply body
    never says whether the call was cold (only trailers do)."""
    raw = faas_pb2.FaasReply(message=message, durationInMicroSec=duration_us, memoryUsageInKb=memory_kb).SerializeToString()
    error = message if status != "OK" else ""
    assert faas.Faas().read_reply(raw) == (status, error, (duration_us, memory_kb, instance, ""))


def test_faas_reply_reading_skips_unknown_fields_and_rejects_truncated_replies():
    known = faas_pb2.FaasReply(message="OK - x", durationInMicroSec=300, memoryUsageInKb=2048).SerializeToString()
    unknown = b"\x20\x96\x01" + known + b"\x2a\x02ab" + b"\x35\x00\x00\x00\x00" + b"\x39" + bytes(8)
    assert faas.Faas().read_reply(unknown) == ("OK", "", (300, 2048, "", ""))
    for broken in (known[:-1], known[:3], b"\x10"):
        with pytest.raises(ValueError, match="FaasReply: "):
            faas.Faas().read_reply(broken)


def test_a_faas_request_carries_the_calls_payload_and_leaves_an_absent_memory_out():
    build = faas.Faas().request_builder("trace-func-1.default.example.com")
    assert faas_pb2.FaasRequest.FromString(build("id-1", 0, (12, -1))) == faas_pb2.FaasRequest(message="id-1", runtimeInMilliSec=12)
    assert build("id-1", 0, (12, 64)) == faas.encode_request("id-1", 12, 64)
