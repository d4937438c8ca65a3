"""load.json (loadcore.loadfile): the shape the old vSwarm Go invoker reads, the per-call
payload lists, and the payload reaching the protocol that sends each call."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from invoker import emulate
from invoker.dispatch import Target
from invoker.protocols import PROTOCOLS, faas
from invoker.replay import ReplayOptions, load_schedule, replay
from loadcore.errors import InputError
from loadcore.loadfile import ABSENT, DEFAULT_PROTOCOL, JOIN_CALLS, PAYLOAD_FIELDS, SYNTHETIC_PROTOCOL, LoadWriter, read_load
from loadcore.mappingfile import PROTOCOLS as PROTOCOLS_BY_KIND

ENDPOINTS = ["fa.default.example.com", "fb.default.example.com"]
GO_INT64 = re.compile(r"-?(0|[1-9][0-9]*)")


def write(path, units):
    """units: list of (offsets, functions, payload or None)."""
    with LoadWriter(path, ENDPOINTS) as writer:
        for offsets, functions, payload in units:
            writer.write_unit(np.array(offsets, dtype=np.int64), np.array(functions, dtype=np.int64), payload)
    return writer.stats


def go_invoker_reads(raw: bytes) -> list[tuple[list[int], list[str]]]:
    """What vSwarm's Go invoker takes from load.json: `json.Unmarshal` into a slice of
    `struct {Timestamp []int64 "timestamp"; Endpoints []string "endpoint"}`, which matches
    keys case-insensitively, ignores other keys and rejects non-integer timestamps."""
    document = json.loads(raw, parse_int=str, parse_float=lambda text: pytest.fail(f"float timestamp {text}"))
    assert isinstance(document, list)
    units = []
    for unit in document:
        assert isinstance(unit, dict)
        keys = {key.lower(): key for key in unit}
        assert len(keys) == len(unit), "two keys Go would take for the same field"
        timestamps, endpoints = unit[keys["timestamp"]], unit[keys["endpoint"]]
        assert all(isinstance(t, str) and GO_INT64.fullmatch(t) and -2**63 <= int(t) < 2**63 for t in timestamps)
        assert all(isinstance(e, str) for e in endpoints)
        units.append(([int(t) for t in timestamps], endpoints))
    return units


def test_files_with_payload_lists_keep_the_shape_the_old_go_invoker_reads(tmp_path):
    path = tmp_path / "load.json"
    write(path, [
        ([5, 70, 900], [0, 1, 0], {"runtime_ms": np.array([ABSENT, 12, ABSENT]), "memory_mib": np.array([ABSENT, 128, ABSENT])}),
        ([], [], None),
        ([1, 2], [1, 1], None),
    ])  # fmt: skip
    assert go_invoker_reads(path.read_bytes()) == [
        ([5, 70, 900], [ENDPOINTS[0], ENDPOINTS[1], ENDPOINTS[0]]), ([], []), ([1, 2], [ENDPOINTS[1]] * 2),
    ]
    units = json.loads(path.read_text())
    assert units[0]["runtime_ms"] == [None, 12, None] and "runtime_ms" not in units[2]
    assert not {name.lower() for name in PAYLOAD_FIELDS} & {"timestamp", "endpoint"}


def test_a_unit_of_more_calls_than_one_join_keeps_every_endpoint_in_order(tmp_path):
    calls = 2 * JOIN_CALLS + 3  # the endpoint list is encoded in pieces of JOIN_CALLS calls
    functions = np.random.default_rng(5).integers(0, len(ENDPOINTS), calls)
    path = tmp_path / "load.json"
    write(path, [(np.arange(calls), functions, None)])
    assert json.loads(path.read_bytes()) == [{"timestamp": list(range(calls)), "endpoint": [ENDPOINTS[f] for f in functions]}]


def test_payload_lists_read_back_per_call_and_absent_where_a_unit_has_none(tmp_path):
    path = tmp_path / "load.json"
    write(path, [([5, 70], [0, 1], {"runtime_ms": np.array([3, ABSENT])}), ([1], [1], None)])
    load = read_load(path)
    assert load.endpoints == tuple(ENDPOINTS) and load.protocols == (SYNTHETIC_PROTOCOL, DEFAULT_PROTOCOL)
    assert list(load.payload) == list(PAYLOAD_FIELDS)
    assert load.payload["runtime_ms"].tolist() == [3, ABSENT, ABSENT]
    assert load.payload["memory_mib"].tolist() == [ABSENT] * 3
    plain = tmp_path / "plain.json"
    write(plain, [([5], [0], None)])
    assert read_load(plain).payload == {} and read_load(plain).protocols == (DEFAULT_PROTOCOL,)


@pytest.mark.parametrize("units, expected", [
    ([{"timestamp": [1, 2], "endpoint": ENDPOINTS, "runtime_ms": [5, None]},
      {"timestamp": [3], "endpoint": ENDPOINTS[:1]}],
     f"endpoint {ENDPOINTS[0]!r}: a call in unit 0 carries 'runtime_ms' but a call in unit 1 does not; expected every call "
     "of an endpoint to carry one (a synthetic function) or none (a proxy)"),
    ([{"timestamp": [1, 2], "endpoint": ENDPOINTS, "runtime_ms": [5, None], "memory_mib": [7, 8]}],
     f"unit 0 field 'memory_mib': a value for a call to {ENDPOINTS[1]!r} that has no 'runtime_ms'; expected memory "
     "only beside a runtime"),
])  # fmt: skip
def test_an_endpoint_is_a_synthetic_function_for_all_its_calls_or_none(tmp_path, units, expected):
    path = tmp_path / "load.json"
    path.write_text(json.dumps(units))
    with pytest.raises(InputError, match=f"^{re.escape(str(path))}: {re.escape(expected)}$"):
        read_load(path)


def test_the_fast_null_encoding_writes_what_json_encodes_and_the_writer_keeps_each_fields_maximum(tmp_path):
    values = np.random.default_rng(3).integers(-1, 70_000, 5_000)
    values[:3] = [ABSENT, 9, ABSENT]
    stats = write(tmp_path / "load.json", [(list(range(5_000)), [0] * 5_000, {"runtime_ms": values}),
                                           ([1], [1], {"runtime_ms": np.array([ABSENT])})])
    unit = json.loads((tmp_path / "load.json").read_text())[0]
    assert unit["runtime_ms"] == [None if v == ABSENT else int(v) for v in values]
    assert stats.payload_max == {"runtime_ms": int(values.max())}
    with pytest.raises(ValueError, match="payload value -2"):
        write(tmp_path / "bad.json", [([1], [0], {"runtime_ms": np.array([-2])})])


@pytest.mark.parametrize("value, expected", [
    ([1], "field 'runtime_ms': expected a list of 2 non-negative integers or nulls"),
    ([1, -2], "field 'runtime_ms': -2, expected"),
    ([1, 2.5], "field 'runtime_ms': 2.5, expected"),
    ([1, True], "field 'runtime_ms': True, expected"),
    ("12", "field 'runtime_ms': expected a list"),
])  # fmt: skip
def test_a_bad_payload_list_is_a_one_line_error_naming_unit_and_field(tmp_path, value, expected):
    path = tmp_path / "load.json"
    path.write_text(json.dumps([{"timestamp": [1, 2], "endpoint": ENDPOINTS}, {"timestamp": [1, 2], "endpoint": ENDPOINTS,
                                                                             "runtime_ms": value}]))
    with pytest.raises(InputError, match=f"^{re.escape(str(path))}: unit 1 {re.escape(expected)}"):
        read_load(path)


def test_every_endpoints_protocol_is_registered():
    assert {DEFAULT_PROTOCOL, SYNTHETIC_PROTOCOL} <= set(PROTOCOLS)
    assert set(PROTOCOLS_BY_KIND.values()) == {DEFAULT_PROTOCOL, SYNTHETIC_PROTOCOL}


def test_each_call_reaches_its_protocol_with_its_own_payload(tmp_path, monkeypatch):
    """The dispatcher hands every call's payload to its endpoint's request builder, in due order."""
    path = tmp_path / "load.json"
    write(path, [([300_000, 100_000, 200_000], [0, 1, 0], {"runtime_ms": np.array([30, 10, 20]),
                                                           "memory_mib": np.array([3, 1, ABSENT])})])
    schedule = load_schedule(ReplayOptions(load=path, granularity="second", warmup=0, duration=1)).schedule
    assert schedule.payload["runtime_ms"].tolist() == [10, 20, 30]
    seen = []

    original = faas.Faas.request_builder

    def recording_builder(self, endpoint):
        build = original(self, endpoint)

        def record(invocation_id, time_ns, payload):
            seen.append((endpoint, invocation_id, payload))
            return build(invocation_id, time_ns, payload)

        return record

    monkeypatch.setattr(faas.Faas, "request_builder", recording_builder)
    functions = {e: emulate.EmulatedFunction(e, None, faas.Faas.name) for e in ENDPOINTS}
    with emulate.start(functions) as server:
        outcome = replay(ReplayOptions(load=path, output=tmp_path / "latency.csv", granularity="second", warmup=0,
                                       duration=1, target=Target(ingress=f"127.0.0.1:{server.port}", timeout=5)))
    assert outcome.summary.ok == 3
    assert [(endpoint, payload) for endpoint, _, payload in seen] == [
        (ENDPOINTS[1], (10, 1)), (ENDPOINTS[0], (20, ABSENT)), (ENDPOINTS[0], (30, 3))]
    rows = pd.read_csv(tmp_path / "latency.csv", keep_default_na=False)
    assert sorted(rows["invocation_id"]) == sorted(invocation_id for _, invocation_id, _ in seen)


def test_a_generated_load_with_synthetic_functions_keeps_the_old_go_invokers_shape(small_trace_workdir):
    from typer.testing import CliRunner

    from loadgen.cli import app

    result = CliRunner().invoke(app, ["generate", "--trace", "trace", "--warmup", "0", "--duration", "2", "--synthetic",
                                      "always"])
    assert result.exit_code == 0, result.output
    raw = (small_trace_workdir / "load.json").read_bytes()
    units = json.loads(raw)
    assert [(len(t), len(e)) for t, e in go_invoker_reads(raw)] == [(len(u["timestamp"]),) * 2 for u in units]
    assert all(len(u["runtime_ms"]) == len(u["timestamp"]) and None not in u["runtime_ms"] for u in units)
    assert set(read_load(small_trace_workdir / "load.json").protocols) == {SYNTHETIC_PROTOCOL}


def one_unit(path, timestamps, endpoints):
    path.write_bytes(b'[{"timestamp": ' + timestamps + b', "endpoint": ' + endpoints + b"}]")
    return path


@pytest.mark.parametrize("timestamps, expected", [
    (b"[9223372036854775808]", "offset 9223372036854775808 µs, expected one within the unit, below 60000000 (a minute)"),
    (b"[1e20]", "offset 1e+20 µs, expected one within the unit, below 60000000 (a minute)"),
    (b"[60000000]", "offset 60000000 µs, expected one within the unit, below 60000000 (a minute)"),
    (b"[-1]", "negative offset -1 µs"),
    (b'["5"]', "'5', expected µs offsets (numbers)"),
    (b"[true]", "True, expected µs offsets (numbers)"),
    (b"[null]", "None, expected µs offsets (numbers)"),
    (b"[[1, 2]]", "[1, 2], expected µs offsets (numbers)"),
])  # fmt: skip
def test_offsets_must_be_numbers_within_the_unit(tmp_path, timestamps, expected):
    """Offsets of 2^63 and more used to pass, wrap to a negative due time and go out at t0."""
    path = one_unit(tmp_path / "load.json", timestamps, b'["a.example.com"]')
    with pytest.raises(InputError) as error:
        read_load(path)
    assert error.value.message == f"{path}: unit 0 field 'timestamp': {expected}"


def test_the_first_value_that_is_no_number_is_named(tmp_path):
    path = one_unit(tmp_path / "load.json", b'[1, "5", "abc"]', b'["a.b", "a.b", "a.b"]')
    with pytest.raises(InputError, match=r"field 'timestamp': '5', expected µs offsets \(numbers\)$"):
        read_load(path)


@pytest.mark.parametrize("endpoint", [b"null", b"[\"a.b\"]", b'{"a": 1}', b"5", b"true"])
def test_an_endpoint_that_is_no_string_is_one_line(tmp_path, endpoint):
    path = one_unit(tmp_path / "load.json", b"[1]", b"[" + endpoint + b"]")
    with pytest.raises(InputError) as error:
        read_load(path)
    assert error.value.message == f"{path}: unit 0 field 'endpoint': {json.loads(endpoint)!r}, expected host names (strings)"


@pytest.mark.parametrize("endpoint", ["fünf.example.com", "a\nb", "a\x00b", "http://a.example.com", "a b", 'a"b',
                                      "a.example.com/path", "\x1b[31ma", "a:99999", "-a.example.com", "a..b", "a:"])
def test_an_endpoint_must_be_a_host_name(tmp_path, endpoint):
    path = tmp_path / "load.json"
    path.write_text(json.dumps([{"timestamp": [], "endpoint": []}, {"timestamp": [1], "endpoint": [endpoint]}]))
    with pytest.raises(InputError) as error:
        read_load(path)
    assert error.value.message == (f"{path}: unit 1 field 'endpoint': {endpoint!r}, expected a host name (letters, "
                                   f"digits, '-' and '.'; no scheme, path or spaces), optionally :PORT")


@pytest.mark.parametrize("endpoint", ["a.example.com", "127.0.0.1", "127.0.0.1:50051", "[::1]:50051", "A-1.b"])
def test_host_names_ip_addresses_and_ports_are_endpoints(tmp_path, endpoint):
    path = tmp_path / "load.json"
    path.write_text(json.dumps([{"timestamp": [1], "endpoint": [endpoint]}]))
    assert read_load(path).endpoints == (endpoint,)


def test_reading_the_first_units_stops_where_they_end(tmp_path):
    """`replay --duration 1` of a long file reads its first unit, not the whole file: what
    follows the units asked for is never parsed (here it is not even JSON)."""
    path = tmp_path / "load.json"
    units = [{"timestamp": [1, 2], "endpoint": ["a.b", "c.d"]}, {"timestamp": [3], "endpoint": ["c.d"]}]
    path.write_bytes(json.dumps(units).encode()[:-1] + b", {broken" + b" " * 20_000_000)
    load = read_load(path, max_units=2)
    assert load.units == 2 and load.offset_us.tolist() == [1, 2, 3] and load.endpoints == ("a.b", "c.d")
    with pytest.raises(InputError, match="not valid JSON"):
        read_load(path)


@pytest.mark.parametrize("text", [
    '[{"timestamp": [1], "endpoint": ["a}b"]}, {"timestamp": [2], "endpoint": ["c.d"]}, {"timestamp": [3], "endpoint": ["e.f"]}]',
    '[{"timestamp": [1], "endpoint": ["a.b"], "x": {"y": 1}}, {"timestamp": [2], "endpoint": ["c.d"]}, {"timestamp": [3], "endpoint": ["e.f"]}]',
    '[{"timestamp": [1], "endpoint": ["a.b"]}, {"timestamp": [2], "endpoint": ["c.d"]}]',
])  # fmt: skip
def test_a_brace_that_does_not_end_a_unit_does_not_cut_the_file_short(tmp_path, text):
    path = tmp_path / "load.json"
    path.write_text(text)
    if "a}b" in text:
        with pytest.raises(InputError, match=r"unit 0 field 'endpoint': 'a}b', expected a host name"):
            read_load(path, max_units=2)
    else:
        assert read_load(path, max_units=2).offset_us.tolist() == [1, 2]
