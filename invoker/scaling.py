"""How `invoker emulate` scales a function like Knative: instances on demand, cold starts, keep-alive.

The model is pure and exact: integer µs, no clock, no randomness, so the same arrival and
service times always give the same instances, waits and cold flags. Per function:

- Instances are numbered 1, 2, ... in creation order (never reused). One created at t is
  *starting* until t + its cold-start delay, then *ready*.
- An instance serves at most `container_concurrency` calls at once (0: no limit, Knative's
  "the system decides"; the model then never needs a second instance).
- An instance with no call in flight or waiting for it is *idle*, from the end of its last call
  (or from when it became ready, if it never served one). After `keep_alive_us` of idleness it
  is removed; with none left the function has scaled to zero.
- A call arriving at t is placed at once, in arrival order:
  1. the lowest-numbered ready instance with a free slot serves it now (a warm call). This is
     the "first available" choice of Knative's activator, its default for containerConcurrency
     up to 3 (it balances round-robin above 3, and by random choice of two at 0);
  2. else, when every instance, ready or starting, is full, and fewer than `max_scale` exist
     (0: no limit), a new instance is created;
  3. and the call waits for the first slot to open: on a starting instance when it becomes
     ready, or on a busy one when a call ends (ties: the lower number). So a call that
     triggers a scale-up may still be served sooner by a busy instance, as the activator
     forwards a buffered request to whichever pod has room first.
- A call is *cold* when its instance was still starting when the call arrived: it paid that
  instance's start-up, all of it (the call that created it) or the rest of it (a call that
  joined a starting instance with room).

What this leaves out of Knative's KPA autoscaler, on purpose:

- **Stable window and ticks.** The KPA sets the pod count every 2 s from the concurrency
  averaged over a 60 s stable window, aiming at 70 % of containerConcurrency per pod. The model
  scales per call, at once, to exactly the slots in use: no utilisation target, no tick delay,
  and no gradual scale-down while traffic lasts (an instance goes only after its own idle time).
- **Panic mode.** When the 6 s panic window's concurrency passes 200 % of the target, the KPA
  scales on that window and never down until it calms. The model has one mode; its per-call
  scale-up is what panic mode approximates.
- **Activator.** At zero pods the activator buffers requests until a pod is ready; the model's
  waiting call is that buffer, unbounded. The activator's own latency and its leaving the path
  once there is capacity (target-burst-capacity) are not modelled.
- **Scale to zero.** After the last request the KPA waits out the 60 s stable window, then up to
  the 30 s scale-to-zero-grace-period before the last pod goes: about 60-90 s. The model has
  one `keep_alive_us` per instance (the emulator's default: 60 s, the stable window).
- **Pods.** One fixed cold-start delay per function (no image pull, scheduling or variance),
  no node capacity, no initial-scale pod at deployment (the model starts with no instances,
  like invitro's template with initial-scale 0). A call that fails or gives up holds its slot
  until the end it was placed for.
"""

from functools import partial
from heapq import heappop, heappush, heapreplace
from typing import Callable, NamedTuple

from loadcore.scalingfile import ScalingRow

US_PER_MS = 1_000
US_PER_S = 1_000_000

#: invitro's cold-start busy loop by memory (its `pkg/generator/startup_busy_loop.go`, "data for
#: AWS from STeLLAR, IISWC'21"): up to 10 MB 300 ms, up to 60 MB 750 ms, else 1,250 ms.
COLD_START_BY_MEMORY_MS = ((10.0, 300), (60.0, 750))
COLD_START_LARGEST_MS = 1_250

CREATED, READY, REMOVED = "created", "ready", "removed"


def cold_start_ms(memory_mb: float | None) -> int:
    """invitro's cold-start delay for a function of `memory_mb` (unknown: the largest, 1,250 ms)."""
    if memory_mb is not None:
        for limit, milliseconds in COLD_START_BY_MEMORY_MS:
            if memory_mb <= limit:
                return milliseconds
    return COLD_START_LARGEST_MS


class Policy(NamedTuple):
    """The scaling settings shared by every function (`--container-concurrency`, ...)."""

    container_concurrency: int = 1
    keep_alive_us: int = 60 * US_PER_S
    max_scale: int = 0


class Placement(NamedTuple):
    """Where and when a call runs: `instance` number, whether it is `cold`, and `start_us`, when
    it starts on that instance (its arrival, or later if it waited)."""

    instance: int
    cold: bool
    start_us: int


class _Instance:
    __slots__ = ("number", "ready_us", "ends", "last_end_us", "listed")

    def __init__(self, number: int, ready_us: int) -> None:
        self.number = number
        self.ready_us = ready_us
        self.ends: list[int] = []  # a heap: end times of the calls it holds (limited concurrency)
        self.last_end_us = ready_us
        self.listed = False  # in FunctionScaler._ready_with_room

    def idle_since_us(self) -> int:
        return max(self.ready_us, self.last_end_us)


class FunctionScaler:
    """The instances of one function. `record(time_us, event)` (if given) hears every instance
    created, ready and removed, with its time: CREATED at once, READY ahead of time (when the
    instance is created), REMOVED once a later `place` or `expire` finds it gone.

    Placing a call costs O(log n) in its n instances, not a scan of them all (a function
    with a thousand instances cost 120 µs a call so): heaps say which ready instances may have
    a free slot (by number), when each instance can next take a call (lower bounds, refreshed
    when read), and which instances become ready or finish a call when; a set holds the
    starting instances with room. Their entries for removed or changed instances are
    skipped when read."""

    def __init__(self, cold_start_us: int, policy: Policy = Policy(), record: Callable[[int, str], None] | None = None):
        if cold_start_us < 0 or policy.container_concurrency < 0 or policy.keep_alive_us < 0 or policy.max_scale < 0:
            raise ValueError("cold start, concurrency, keep-alive and max scale must not be negative")
        self.cold_start_us = cold_start_us
        self.capacity = policy.container_concurrency
        self.keep_alive_us = policy.keep_alive_us
        self.max_scale = policy.max_scale
        self.instances: dict[int, _Instance] = {}  # by number, in creation order
        self.created = 0
        self._record = record
        self._next_expiry_us = 1 << 62
        self._becoming_ready: list[tuple[int, int]] = []  # (ready_us, number) of starting instances
        self._call_ends: list[tuple[int, int]] = []  # (end_us, number) of every call placed
        self._ready_with_room: list[int] = []  # numbers of ready instances that may have a free slot
        self._available: list[tuple[int, int]] = []  # (no later than it can take a call, number)
        self._starting_with_room: set[int] = set()

    def place(self, arrival_us: int, service_us: int) -> Placement:
        """Place a call arriving at `arrival_us` that runs `service_us` on its instance.

        Arrivals must not go back in time (equal times are fine, taken in call order).
        """
        if arrival_us >= self._next_expiry_us:
            self.expire(arrival_us)
        self._advance(arrival_us)
        free = self._lowest_ready_with_room(arrival_us)
        if free is not None:
            return self._claim(free, arrival_us, arrival_us, service_us)
        best, best_us = self._first_available(arrival_us)
        if not self._starting_with_room and (not self.max_scale or len(self.instances) < self.max_scale):
            created = self._create(arrival_us)
            if best is None or created.ready_us < best_us:
                best, best_us = created, created.ready_us
        return self._claim(best, arrival_us, best_us, service_us)

    def _advance(self, now_us: int) -> None:
        """Note the instances that became ready, and those a call ended on, by `now_us`."""
        while self._becoming_ready and self._becoming_ready[0][0] <= now_us:
            _, number = heappop(self._becoming_ready)
            self._starting_with_room.discard(number)
            self._list_ready(number)
        while self._call_ends and self._call_ends[0][0] <= now_us:
            self._list_ready(heappop(self._call_ends)[1])  # ready: its calls start once it is

    def _list_ready(self, number: int) -> None:
        instance = self.instances.get(number)
        if instance is not None and not instance.listed:
            instance.listed = True
            heappush(self._ready_with_room, number)

    def _has_room(self, instance: _Instance, now_us: int) -> bool:
        """Whether `instance` has a free slot at `now_us` (dropping the calls ended by then)."""
        if not self.capacity:
            return True
        ends = instance.ends
        while ends and ends[0] <= now_us:
            heappop(ends)
        return len(ends) < self.capacity

    def _lowest_ready_with_room(self, now_us: int) -> "_Instance | None":
        heap = self._ready_with_room
        while heap:
            instance = self.instances.get(heap[0])
            if instance is not None and self._has_room(instance, now_us):
                return instance
            heappop(heap)  # gone, or full: a call ending on it lists it again
            if instance is not None:
                instance.listed = False
        return None

    def _first_available(self, now_us: int) -> tuple["_Instance | None", int]:
        """The instance that can take a call first (ties: the lower number), and when."""
        heap = self._available
        while heap:
            bound, number = heap[0]
            instance = self.instances.get(number)
            if instance is None:
                heappop(heap)
                continue
            if self._has_room(instance, now_us):  # starting: a ready one with room took the call
                available_us = instance.ready_us
            else:
                available_us = max(instance.ready_us, instance.ends[0])
            if available_us == bound:
                return instance, available_us
            heapreplace(heap, (available_us, number))  # it only ever gets later
        return None, 0

    def _create(self, now_us: int) -> _Instance:
        self.created += 1
        instance = _Instance(self.created, now_us + self.cold_start_us)
        self.instances[instance.number] = instance
        heappush(self._becoming_ready, (instance.ready_us, instance.number))
        heappush(self._available, (instance.ready_us, instance.number))
        self._starting_with_room.add(instance.number)
        self._next_expiry_us = min(self._next_expiry_us, instance.ready_us + self.keep_alive_us)
        if self._record is not None:
            self._record(now_us, CREATED)
            self._record(instance.ready_us, READY)
        return instance

    def _claim(self, instance: _Instance, arrival_us: int, start_us: int, service_us: int) -> Placement:
        end_us = start_us + service_us
        if self.capacity:
            if len(instance.ends) >= self.capacity:
                heappop(instance.ends)
            heappush(instance.ends, end_us)
            heappush(self._call_ends, (end_us, instance.number))
            if len(instance.ends) >= self.capacity:
                self._starting_with_room.discard(instance.number)
        if end_us > instance.last_end_us:
            instance.last_end_us = end_us
        return Placement(instance.number, instance.ready_us > arrival_us, start_us)

    def expire(self, now_us: int) -> None:
        """Remove the instances idle for the keep-alive or longer at `now_us`."""
        kept, next_expiry = {}, 1 << 62
        for number, instance in self.instances.items():
            expiry_us = instance.idle_since_us() + self.keep_alive_us
            if expiry_us <= now_us:
                if self._record is not None:
                    self._record(expiry_us, REMOVED)
                continue
            kept[number] = instance
            next_expiry = min(next_expiry, expiry_us)
        self.instances = kept
        self._next_expiry_us = next_expiry

    def counts(self, now_us: int) -> tuple[int, int]:
        """(ready, starting) instances at `now_us` (after `expire(now_us)`)."""
        ready = sum(1 for instance in self.instances.values() if instance.ready_us <= now_us)
        return ready, len(self.instances) - ready


class Scaler:
    """The scaling of every function of an emulator, and its instance counts as scaling.csv rows.

    `functions` maps a function's key (how calls name it) to its name in scaling.csv and its
    cold-start delay in µs. Times are µs on one clock; `rows` converts them to Unix µs by adding
    `epoch_us`, the Unix time of that clock's zero. With `timeline=False` no instance event is
    kept and `rows` has nothing to say. Not thread-safe: one lock around it.
    """

    def __init__(self, functions: dict[str, tuple[str, int]], policy: Policy = Policy(), epoch_us: int = 0,
                 timeline: bool = True):  # fmt: skip
        self.epoch_us = epoch_us
        self.scalers = {
            key: FunctionScaler(cold_us, policy, partial(self._event, name) if timeline else None)
            for key, (name, cold_us) in functions.items()
        }
        self._names = sorted({name for name, _ in functions.values()})
        self._counts = {name: [0, 0, 0, 0] for name in self._names}  # ready, starting, created, removed
        self._events: list[tuple[int, int, str, str]] = []  # a heap of (time, order, name, event)
        self._order = 0
        self._now_us = 0
        self._started = False

    def _event(self, name: str, time_us: int, event: str) -> None:
        self._order += 1
        heappush(self._events, (time_us, self._order, name, event))

    def place(self, key: str, arrival_us: int, service_us: int) -> Placement:
        """Place a call to function `key`; an arrival earlier than the last one counts as it."""
        if arrival_us > self._now_us:
            self._now_us = arrival_us
        return self.scalers[key].place(self._now_us, service_us)

    def rows(self, now_us: int) -> list[ScalingRow]:
        """The scaling.csv rows of every change up to `now_us` not returned before (the first
        call also returns each function's starting row at time 0)."""
        if now_us > self._now_us:
            self._now_us = now_us
        now_us = self._now_us
        for scaler in self.scalers.values():
            scaler.expire(now_us)
        rows = []
        if not self._started:
            self._started = True
            rows = [ScalingRow(self.epoch_us, name, 0, 0, 0, 0, 0) for name in self._names]
        events = self._events
        while events and events[0][0] <= now_us:
            time_us, _, name, event = heappop(events)
            counts = self._counts[name]
            if event == CREATED:
                counts[1] += 1
                counts[2] += 1
            elif event == READY:
                counts[1] -= 1
                counts[0] += 1
            else:
                counts[0] -= 1
                counts[3] += 1
            row = ScalingRow(self.epoch_us + time_us, name, counts[0], counts[1], 0, counts[2], counts[3])
            if rows and rows[-1].time_us == row.time_us and rows[-1].function == name:
                rows[-1] = row
            else:
                rows.append(row)
        return rows
