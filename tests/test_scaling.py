"""The emulator's scaling model (invoker.scaling): exact, in integer µs, no clock."""

import random
from heapq import heappop

import pytest

from invoker.scaling import CREATED, READY, REMOVED, FunctionScaler, Placement, Policy, Scaler, cold_start_ms
from loadcore.scalingfile import ScalingRow

S = 1_000_000
COLD = 1_250_000  # µs


def scaler(concurrency=1, keep_alive_s=60, max_scale=0, cold_us=COLD, record=None):
    return FunctionScaler(cold_us, Policy(concurrency, keep_alive_s * S, max_scale), record)


def test_first_call_is_cold_and_waits_the_whole_cold_start():
    assert scaler().place(5 * S, 100_000) == Placement(1, True, 5 * S + COLD)


def test_a_call_within_the_keep_alive_is_warm_on_the_same_instance():
    model = scaler()
    first = model.place(0, 100_000)
    ended = first.start_us + 100_000
    assert model.place(ended + 59 * S, 100_000) == Placement(1, False, ended + 59 * S)


def test_after_an_idle_gap_of_the_keep_alive_it_is_cold_again_on_a_new_instance():
    model = scaler()
    ended = model.place(0, 100_000).start_us + 100_000
    assert model.place(ended + 60 * S, 100_000) == Placement(2, True, ended + 60 * S + COLD)
    assert len(model.instances) == 1


def test_the_keep_alive_counts_from_the_end_of_the_last_call_not_its_arrival():
    model = scaler(keep_alive_s=10)
    model.place(0, 20 * S)  # ends at 21.25 s
    assert model.place(30 * S, 1).instance == 1  # 8.75 s idle
    assert model.place(40 * S, 1).instance == 1  # 9.999999 s idle since 30.000001
    assert model.place(50 * S + 1, 1) == Placement(2, True, 50 * S + 1 + COLD)  # 10 s idle: gone


def test_with_concurrency_one_two_simultaneous_calls_make_two_cold_instances():
    model = scaler()
    assert [model.place(0, 100_000), model.place(0, 100_000)] == [Placement(1, True, COLD), Placement(2, True, COLD)]


def test_with_concurrency_two_the_second_call_joins_the_starting_instance_and_is_cold():
    model = scaler(concurrency=2)
    assert model.place(0, S) == Placement(1, True, COLD)
    assert model.place(500_000, S) == Placement(1, True, COLD)
    assert model.place(600_000, S) == Placement(2, True, 600_000 + COLD)


def test_unlimited_concurrency_never_needs_a_second_instance():
    model = scaler(concurrency=0)
    placed = [model.place(t, 10 * S) for t in range(0, 5 * S, S // 10)]
    assert {p.instance for p in placed} == {1}
    assert [p.cold for p in placed] == [t < COLD for t in range(0, 5 * S, S // 10)]


def test_max_scale_caps_the_instances_and_queues_calls_in_arrival_order():
    model = scaler(max_scale=2)
    placed = [model.place(0, S) for _ in range(5)]
    assert placed == [
        Placement(1, True, COLD),
        Placement(2, True, COLD),
        Placement(1, True, COLD + S),
        Placement(2, True, COLD + S),
        Placement(1, True, COLD + 2 * S),
    ]
    assert model.created == 2
    # Arriving once both instances are up, a queued call is warm: it waited for a busy one.
    assert model.place(COLD + 10, S) == Placement(2, False, COLD + 2 * S)


def test_a_call_that_triggers_a_scale_up_takes_a_busy_instance_that_frees_first():
    model = scaler()
    first = model.place(0, 10_000)  # instance 1 busy until 1.26 s
    assert model.place(first.start_us + 5_000, 10_000) == Placement(1, False, first.start_us + 10_000)
    assert model.created == 2  # the scale-up happened all the same, as Knative's would
    # Instance 2, idle once ready, serves the next call that finds instance 1 busy, warm.
    assert model.place(COLD + 5_000 + COLD, 1_000_000).instance == 1
    assert model.place(COLD + 5_000 + COLD + 1, 1).instance == 2


def test_first_available_prefers_the_lowest_numbered_free_instance():
    model = scaler()
    model.place(0, S)
    model.place(0, S)
    late = COLD + 2 * S
    placed = [model.place(late, 2 * S) for _ in range(3)]
    assert placed == [Placement(1, False, late), Placement(2, False, late), Placement(3, True, late + COLD)]


def test_zero_cold_start_and_zero_keep_alive():
    model = scaler(cold_us=0, keep_alive_s=0)
    assert model.place(0, 10) == Placement(1, False, 0)
    assert model.place(5, 10) == Placement(2, False, 5)
    assert model.place(20, 10) == Placement(3, False, 20)  # idle instances went at once


def test_instance_events_are_recorded_with_their_times():
    events = []
    model = scaler(keep_alive_s=10, record=lambda t, what: events.append((t, what)))
    model.place(0, S)
    model.place(100 * S, S)
    assert events == [(0, CREATED), (COLD, READY), (COLD + S + 10 * S, REMOVED), (100 * S, CREATED), (100 * S + COLD, READY)]


def test_same_arrivals_give_the_same_placements():
    arrivals = [(t * 37_003 % 9_000_000, t * 7_919 % 2_000_000) for t in range(2_000)]
    arrivals.sort()

    def run():
        model = scaler(concurrency=2, keep_alive_s=1, max_scale=5)
        return [model.place(t, service) for t, service in arrivals]

    assert run() == run()


@pytest.mark.parametrize(("memory_mb", "ms"), [(0.5, 300), (10, 300), (10.01, 750), (60, 750), (61, 1250), (None, 1250)])
def test_cold_start_by_memory_follows_invitro(memory_mb, ms):
    assert cold_start_ms(memory_mb) == ms


def test_negative_settings_are_refused():
    with pytest.raises(ValueError):
        FunctionScaler(-1)


def test_the_scaler_reports_instance_counts_as_scaling_rows_in_time_order():
    epoch = 1_700_000_000 * S
    model = Scaler({"a.example.com": ("a", COLD), "b.example.com": ("b", 300_000)}, Policy(1, 10 * S, 0), epoch)
    model.place("a.example.com", 0, S)
    model.place("a.example.com", 0, S)
    model.place("b.example.com", 100_000, S)
    assert model.rows(COLD) == [
        ScalingRow(epoch, "a", 0, 0, 0, 0, 0),
        ScalingRow(epoch, "b", 0, 0, 0, 0, 0),
        ScalingRow(epoch, "a", 0, 2, 0, 2, 0),
        ScalingRow(epoch + 100_000, "b", 0, 1, 0, 1, 0),
        ScalingRow(epoch + 400_000, "b", 1, 0, 0, 1, 0),
        ScalingRow(epoch + COLD, "a", 2, 0, 0, 2, 0),
    ]
    assert model.rows(12 * S) == [ScalingRow(epoch + 11_400_000, "b", 0, 0, 0, 1, 1)]
    assert model.rows(100 * S) == [ScalingRow(epoch + COLD + S + 10 * S, "a", 0, 0, 0, 2, 2)]
    assert model.rows(200 * S) == []


def test_an_arrival_before_the_last_rows_counts_at_that_time():
    model = Scaler({"a": ("a", COLD)})
    model.rows(10 * S)
    assert model.place("a", 5 * S, 1) == Placement(1, True, 10 * S + COLD)


def test_without_a_timeline_the_scaler_keeps_no_events():
    model = Scaler({"a": ("a", COLD)}, timeline=False)
    for t in range(0, 100 * S, S):
        model.place("a", t, 10)
    assert model.rows(100 * S) == [ScalingRow(0, "a", 0, 0, 0, 0, 0)] and model._events == []


class ScanningScaler(FunctionScaler):
    """The model's rule as first written, the oracle of its indexed version: every call scans
    every instance in number order (lowest-numbered ready one with a free slot, else the one
    available first, ties to the lower number)."""

    def place(self, arrival_us, service_us):
        if arrival_us >= self._next_expiry_us:
            self.expire(arrival_us)
        capacity = self.capacity
        best, best_us, room_starting = None, 0, False
        for instance in list(self.instances.values()):
            ends = instance.ends
            if capacity:
                while ends and ends[0] <= arrival_us:
                    heappop(ends)
                full = len(ends) >= capacity
            else:
                full = False
            if instance.ready_us <= arrival_us:
                if not full:
                    return self._claim(instance, arrival_us, arrival_us, service_us)
                available_us = ends[0]
            else:
                room_starting = room_starting or not full
                available_us = max(instance.ready_us, ends[0]) if full else instance.ready_us
            if best is None or available_us < best_us:
                best, best_us = instance, available_us
        if not room_starting and (not self.max_scale or len(self.instances) < self.max_scale):
            created = self._create(arrival_us)
            if best is None or created.ready_us < best_us:
                best, best_us = created, created.ready_us
        return self._claim(best, arrival_us, best_us, service_us)


@pytest.mark.parametrize("seed", range(24))
def test_placements_equal_the_scan_over_every_instance(seed):
    rng = random.Random(seed)
    policy = Policy(rng.choice([0, 1, 1, 2, 3]), rng.choice([0, 200_000, 5 * S]), rng.choice([0, 0, 1, 4]))
    cold_us = rng.choice([0, 1_000, 300_000, COLD])
    logs = ([], [])
    models = [cls(cold_us, policy, lambda t, what, log=log: log.append((t, what)))
              for cls, log in zip((FunctionScaler, ScanningScaler), logs)]
    arrival = 0
    for _ in range(3_000):
        arrival += rng.choice([0, 0, rng.randrange(1, 2_000), rng.randrange(1, 400_000), rng.randrange(1, 8 * S)])
        service = rng.choice([0, rng.randrange(1, 50_000), rng.randrange(1, 2 * S)])
        assert models[0].place(arrival, service) == models[1].place(arrival, service), (policy, cold_us, arrival)
        if rng.random() < 0.01:
            assert models[0].counts(arrival) == models[1].counts(arrival)
    for model in models:
        model.expire(arrival + 10 * S)
    assert logs[0] == logs[1]
    assert models[0].counts(arrival + 10 * S) == models[1].counts(arrival + 10 * S)


def test_a_long_busy_run_keeps_no_more_bookkeeping_than_instances_and_calls_in_flight():
    model = scaler(concurrency=1, cold_us=1_000)
    for call in range(50_000):
        model.place(call * 100, 0 if call % 2 else 250)
    in_flight = 3
    assert len(model._ready_with_room) <= len(model.instances)
    assert len(model._call_ends) <= in_flight and len(model._available) <= len(model.instances) + in_flight
