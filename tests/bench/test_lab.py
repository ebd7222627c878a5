"""The lab's parsing and booking: wrk output, py-spy folded stacks, CPU accounting."""

from __future__ import annotations

import os

import pytest

from bench.lab.harness import cpu_seconds, parse_wrk
from bench.lab.profile import book, part_of

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8000/api/movies
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    11.08ms   13.95ms 214.00ms   90.10%
    Req/Sec     3.59k     1.28k    6.60k    70.00%
  Latency Distribution
     50%  812.00us
     75%    8.85ms
     90%   23.51ms
     99%    1.02s
  35712 requests in 10.01s, 40.33MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   3567.24
Transfer/sec:      4.03MB
"""

WORKER = 'process 100:"python -m proxy";process 101:"python -m proxy"'


def test_wrk_output_gives_rate_percentiles_in_ms_and_every_kind_of_error():
    result = parse_wrk(WRK_OUTPUT)
    assert result.rps == pytest.approx(3567.24)
    assert result.p50 == pytest.approx(0.812)
    assert result.p99 == pytest.approx(1020.0)
    assert result.errors == 7
    assert result.requests == 35712


@pytest.mark.parametrize(("frames", "part"), [
    (["run_forever (uvloop)", "Gateway.handle (proxy/gateway.py:90)", "inc (prometheus_client/values.py:1)"],
     "metrics"),
    (["Gateway._route (proxy/gateway.py:1)", "send (proxy/forward.py:1)", "_request (aiohttp/client.py:1)"],
     "client (pyreqwest)"),
    (["Gateway._respond (proxy/gateway.py:1)", "client_headers (proxy/forward.py:170)"], "header handling"),
    (["Gateway.handle (proxy/gateway.py:1)", "canonical (proxy/target.py:1)"], "canonical path"),
    (["RsgiProxy.__rsgi__ (proxy/rsgi.py:1)", "RsgiResponder.full (proxy/rsgi.py:56)"], "server interface"),
    (["MPServer._spawn_rsgi_worker (granian/server/mp.py:317)"], "event loop"),
    (["Gateway.handle (proxy/gateway.py:1)", "helper (somewhere/else.py:1)"], "gateway core"),
])
def test_a_worker_sample_is_booked_to_its_innermost_known_frame(frames, part):
    assert part_of([*WORKER.split(";"), *frames]) == part


def test_samples_outside_the_workers_python_threads_are_not_booked():
    rust_thread = WORKER.split(";")  # a granian runtime thread: no Python frame below the process
    supervisor = ['process 100:"python -m proxy"', "Popen.poll (multiprocessing/popen_fork.py:27)", "x (y.py:1)"]
    assert part_of(rust_thread) is None
    assert part_of(supervisor) is None


def test_folded_stacks_are_summed_per_part_with_their_counts():
    folded = "\n".join([
        f"{WORKER};Gateway._route (proxy/gateway.py:1);_request (aiohttp/client.py:1) 30",
        f"{WORKER};Recorder.request (proxy/metrics.py:75) 5",
        f"{WORKER} 400",
        f"{WORKER};Gateway._route (proxy/gateway.py:2) 7",
    ])
    assert book(folded) == {"client (pyreqwest)": 30, "metrics": 5, "gateway core": 7}


def test_cpu_time_of_a_process_group_grows_with_work():
    group = os.getpgid(0)
    before = cpu_seconds(group)
    deadline = os.times().elapsed + 0.3
    while os.times().elapsed < deadline:  # busy on purpose: this process is in the group
        sum(range(10_000))
    assert cpu_seconds(group) > before
