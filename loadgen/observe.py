"""Watch the Pods of a run's Knative Services and write `scaling.csv` (`loadcore.scalingfile`).

Knative labels every Pod of a Service with `serving.knative.dev/service=<name>`, and copies the
revision template's labels onto it, so the Pods of a loadgen run also carry
`loadgen.dev/run-id`. One list, then one watch (the Kubernetes watch API, no Prometheus) from the
list's resourceVersion, follows them; every change of a function's counts is a row, timed by
this machine's wall clock when the event arrived. A Pod is *terminating* once it has a
deletionTimestamp, else *ready* when its `Ready` condition is `True`, else *pending* (not yet
scheduled, pulling, starting, or failing its readiness probe), unless it has finished
(`Succeeded`/`Failed`: counted nowhere).

Bounded waits: every request has a timeout; the watch is re-opened every `WATCH_SLICE_S`
seconds (how soon a stop is noticed, unless urllib3 can cut the read short); an expired resourceVersion (410 Gone) lists again and
counts the Pods that came or went meanwhile; a broken connection is retried until
`RETRY_FOR_S` seconds pass without success, then the observation ends with a warning (the
rows so far stay in the file). Errors before the observation starts are one-line `InputError`s.
"""

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from loadcore.errors import InputError
from loadcore.names import is_dns_label
from loadcore.scalingfile import ScalingRow, ScalingWriter
from loadgen.deploy.cluster import KNATIVE_GROUP, KNATIVE_PLURAL, KNATIVE_VERSION, RUN_ID, BoundedApiClient, api_errors, check_run_id

SERVICE_LABEL = "serving.knative.dev/service"
WATCH_SLICE_S = 2
RETRY_FOR_S = 30.0
RETRY_PAUSE_S = 1.0
READY, PENDING, TERMINATING = "ready", "pending", "terminating"
_STATES = (READY, PENDING, TERMINATING)


@dataclass(frozen=True)
class Selection:
    """Which Pods to watch: those of one run (`run_id`) or of the named `services`."""

    namespace: str = "default"
    run_id: str | None = None
    services: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.run_id is None) == (not self.services):
            raise InputError("give --run-id (the Pods of one loadgen run) or --service NAME, exactly one of them")
        if self.run_id is not None:
            check_run_id(self.run_id)
        for name in self.services:
            if not is_dns_label(name):
                raise InputError(f"--service {name!r}: not a Knative Service name (a DNS label)")

    def pod_selector(self) -> str:
        if self.services:
            return f"{SERVICE_LABEL} in ({','.join(sorted(set(self.services)))})"
        return f"{RUN_ID}={self.run_id},{SERVICE_LABEL}"

    def describe(self) -> str:
        count = len(set(self.services))
        which = f"run {self.run_id}" if self.run_id else f"{count} Service{'s' * (count != 1)}"
        return f"{which} in namespace {self.namespace}"


def pod_state(pod: dict) -> str | None:
    """READY, PENDING or TERMINATING for a Pod as the API returns it; None once it has finished."""
    if pod["metadata"].get("deletionTimestamp"):
        return TERMINATING
    status = pod.get("status") or {}
    if status.get("phase") in ("Succeeded", "Failed"):
        return None
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    return READY if ready else PENDING


class PodCounts:
    """Every watched function's Pods and counts; turns Pod events into scaling.csv rows."""

    def __init__(self, functions: list[str]) -> None:
        self._pods: dict[str, tuple[str, str | None]] = {}  # uid -> (function, state)
        self._counts: dict[str, dict[str, int]] = {name: _zero() for name in functions}

    def start(self, pods: list[dict], now_us: int) -> list[ScalingRow]:
        """The first row of every function: the Pods listed when the observation began."""
        for pod in pods:
            function = pod["metadata"]["labels"][SERVICE_LABEL]
            self._counts.setdefault(function, _zero())
            self._track(pod, function)
        return [self._row(name, now_us) for name in sorted(self._counts)]

    def apply(self, kind: str, pod: dict, now_us: int) -> ScalingRow | None:
        """A watch event (ADDED, MODIFIED, DELETED); the function's new row if its counts changed."""
        function = (pod["metadata"].get("labels") or {}).get(SERVICE_LABEL)
        if function is None:
            return None
        counts = self._counts.setdefault(function, _zero())
        before = dict(counts)
        uid = pod["metadata"]["uid"]
        if kind == "DELETED":
            if self._forget(uid):
                counts["deleted"] += 1
        else:
            if uid not in self._pods:
                counts["created"] += 1
            self._track(pod, function)
        return self._row(function, now_us) if counts != before else None

    def reconcile(self, pods: list[dict], now_us: int) -> list[ScalingRow]:
        """After a fresh list: count the Pods that came or went while the watch was not there."""
        changed: dict[str, ScalingRow] = {}
        listed = {pod["metadata"]["uid"] for pod in pods}
        for uid in [uid for uid in self._pods if uid not in listed]:
            row = self.apply("DELETED", {"metadata": {"uid": uid, "labels": {SERVICE_LABEL: self._pods[uid][0]}}}, now_us)
            if row:
                changed[row.function] = row
        for pod in pods:
            row = self.apply("MODIFIED", pod, now_us)
            if row:
                changed[row.function] = row
        return [changed[name] for name in sorted(changed)]

    def totals(self) -> dict[str, int]:
        """Pods by state over every function (for progress)."""
        return {state: sum(counts[state] for counts in self._counts.values()) for state in _STATES}

    @property
    def functions(self) -> int:
        return len(self._counts)

    def _track(self, pod: dict, function: str) -> None:
        uid = pod["metadata"]["uid"]
        self._forget(uid)
        state = pod_state(pod)
        self._pods[uid] = (function, state)
        if state is not None:
            self._counts[function][state] += 1

    def _forget(self, uid: str) -> bool:
        known = self._pods.pop(uid, None)
        if known is None:
            return False
        function, state = known
        if state is not None:
            self._counts[function][state] -= 1
        return True

    def _row(self, function: str, now_us: int) -> ScalingRow:
        c = self._counts[function]
        return ScalingRow(now_us, function, c[READY], c[PENDING], c[TERMINATING], c["created"], c["deleted"])


def _zero() -> dict[str, int]:
    return {READY: 0, PENDING: 0, TERMINATING: 0, "created": 0, "deleted": 0}


@dataclass
class ObserveOutcome:
    """What an observation wrote: rows, functions seen, warnings, and `failure`: why the watch
    ended before it was stopped, if it did (the rows until then are in the file)."""

    path: Path
    rows_written: int = 0
    functions: int = 0
    warnings: list[str] = field(default_factory=list)
    failure: str | None = None


class PodObservation:
    """One observation: `begin()` lists (errors are `InputError`s), `follow()` watches until
    stopped, `close()` ends the file. `following()` runs `follow` in a thread while a block runs."""

    def __init__(self, api: BoundedApiClient, selection: Selection, output: Path, clock: Callable[[], int] = time.time_ns,
                 slice_s: int = WATCH_SLICE_S) -> None:  # fmt: skip
        self.api, self.selection, self.clock, self.slice_s = api, selection, clock, slice_s
        self.core = client.CoreV1Api(api)
        self.writer = ScalingWriter(output)
        self.outcome = ObserveOutcome(Path(output))
        self.counts: PodCounts | None = None
        self._version = ""
        self._response = None  # the open watch, for `following` to cut short

    def _now_us(self) -> int:
        return self.clock() // 1000

    def _list_pods(self) -> tuple[list[dict], str]:
        namespace = self.selection.namespace
        response = self.core.list_namespaced_pod(
            namespace, label_selector=self.selection.pod_selector(), _preload_content=False
        )
        listing = json.loads(response.data)
        return listing["items"], listing["metadata"]["resourceVersion"]

    def _services(self) -> list[str]:
        if self.selection.services:
            return sorted(set(self.selection.services))
        namespace = self.selection.namespace
        try:
            items = client.CustomObjectsApi(self.api).list_namespaced_custom_object(
                KNATIVE_GROUP, KNATIVE_VERSION, namespace, KNATIVE_PLURAL, label_selector=f"{RUN_ID}={self.selection.run_id}"
            )["items"]
        except ApiException as e:
            if e.status != 404:
                raise
            raise InputError(f"Knative Serving is not installed on this cluster: no {KNATIVE_PLURAL}.{KNATIVE_GROUP}") from None
        return sorted(item["metadata"]["name"] for item in items)

    def begin(self) -> None:
        """The first rows: every function with the Pods it has now."""
        with api_errors(self.api, f"listing the Pods of {self.selection.describe()}"):
            services = self._services()
            pods, self._version = self._list_pods()
        if not services and not pods:
            self.outcome.warnings.append(f"no Knative Services or Pods of {self.selection.describe()} yet; watching for them")
        self.counts = PodCounts(services)
        self._write(self.counts.start(pods, self._now_us()))

    def _write(self, rows: list[ScalingRow]) -> None:
        if rows:
            self.writer.write(rows)
            self.outcome.rows_written = self.writer.rows_written
        self.outcome.functions = self.counts.functions

    def follow(self, stop: threading.Event, until: float | None = None, on_progress=None) -> None:
        """Watch until `stop` is set or the monotonic time `until`; `on_progress(totals, rows)`
        after every change. A watch that keeps failing for RETRY_FOR_S ends it (`outcome.failure`)."""
        failing_since, stale = None, False
        while not stop.is_set() and (until is None or time.monotonic() < until):
            try:
                if stale:
                    pods, self._version = self._list_pods()
                    self._write(self.counts.reconcile(pods, self._now_us()))
                    stale = False
                self._watch_once(stop, until, on_progress)
                failing_since = None
                continue
            except ApiException as e:
                if e.status == 410:  # the resourceVersion expired: list again
                    stale = True
                    continue
                reason = f"HTTP {e.status} {e.reason}"
            except (urllib3.exceptions.HTTPError, OSError, ValueError) as e:
                reason = str(getattr(e, "reason", None) or e)
            now = time.monotonic()
            failing_since = failing_since or now
            if now - failing_since >= RETRY_FOR_S:
                when = time.strftime("%H:%M:%S", time.gmtime(self._now_us() / 1e6))
                self.outcome.failure = (
                    f"the pod watch stopped at {when} UTC after failing for {RETRY_FOR_S:g} s ({reason}); "
                    f"{self.outcome.path} covers the time until then"
                )
                return
            stop.wait(RETRY_PAUSE_S)

    def _watch_once(self, stop: threading.Event, until: float | None, on_progress) -> None:
        slice_s = self.slice_s if until is None else max(1, min(self.slice_s, int(until - time.monotonic()) + 1))
        response = self.core.list_namespaced_pod(
            self.selection.namespace, label_selector=self.selection.pod_selector(), watch=True,
            resource_version=self._version, allow_watch_bookmarks=True, timeout_seconds=slice_s,
            _preload_content=False, _request_timeout=(self.api.request_timeout, slice_s + self.api.request_timeout),
        )  # fmt: skip
        self._response = response
        try:
            for line in iter_resp_lines(response):
                if not line:
                    continue
                event = json.loads(line)
                kind, pod = event["type"], event["object"]
                if kind == "ERROR":
                    raise ApiException(status=pod.get("code", 500), reason=pod.get("message", ""))
                self._version = pod["metadata"]["resourceVersion"]
                if kind in ("ADDED", "MODIFIED", "DELETED"):
                    row = self.counts.apply(kind, pod, self._now_us())
                    if row is not None:
                        self._write([row])
                        if on_progress is not None:
                            on_progress(self.counts.totals(), self.outcome.rows_written)
                if stop.is_set():
                    return
        finally:
            self._response = None
            response.release_conn()

    def close(self) -> ObserveOutcome:
        self.writer.close()
        self.outcome.rows_written = self.writer.rows_written
        if self.writer.error:
            self.outcome.failure = self.outcome.failure or self.writer.error
        return self.outcome

    def _follow_or_note(self, stop: threading.Event) -> None:
        try:
            self.follow(stop)
        except Exception as error:  # a thread's exception would vanish: keep it as a warning
            self.outcome.failure = f"the pod watch stopped: {error!r}; {self.outcome.path} covers the time until then"

    @contextmanager
    def following(self):
        """After `begin()`: `follow()` in a thread until the block ends, then `close()`."""
        stop = threading.Event()
        thread = threading.Thread(target=self._follow_or_note, args=(stop,), name="pod-watch", daemon=True)
        thread.start()
        try:
            yield self.outcome
        finally:
            stop.set()
            response = self._response
            if response is not None and hasattr(response, "shutdown"):  # urllib3 >= 2.3: end the read now
                response.shutdown()
            thread.join(self.slice_s + self.api.request_timeout)
            self.close()


def observe(api: BoundedApiClient, selection: Selection, output: Path, stop: threading.Event,
            duration: float | None = None, on_progress=None) -> ObserveOutcome:  # fmt: skip
    """Write `output` from the Pods of `selection` until `stop` is set or `duration` s passed."""
    observation = PodObservation(api, selection, output)
    until = None if duration is None else time.monotonic() + duration
    try:
        observation.begin()
        if on_progress is not None:
            on_progress(observation.counts.totals(), observation.outcome.rows_written)
        observation.follow(stop, until, on_progress)
    finally:
        outcome = observation.close()
    return outcome
