"""Tests for cfx.runner: the decode → batched compute → encode pipeline (order,
batching, per-item failures), device selection, precision/autocast, threads."""

from __future__ import annotations

import ctypes
import itertools
import random
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any

import pytest
import torch

from cfx import runner
from cfx.registry import list_models
from cfx.runner import DeviceError, Failed, autocast, configure_threads, prepare_model, run_pipeline, select_device


@dataclass(frozen=True)
class Item:
    """An input item; identity matters (Failed must carry the original object)."""

    index: int
    key: str = "a"
    fail_decode: bool = False
    fail_encode: bool = False
    fail_compute: bool = False


@dataclass
class Decoded:
    item: Item


class Recorder:
    """decode/batch_key/compute/encode callbacks that record what compute sees."""

    def __init__(self, jitter: float = 0.0) -> None:
        self.batches: list[list[int]] = []
        self.jitter = jitter
        self.lock = threading.Lock()

    def decode(self, item: Item) -> Decoded:
        if self.jitter:
            time.sleep(random.random() * self.jitter)
        if item.fail_decode:
            raise ValueError(f"cannot decode {item.index}")
        return Decoded(item)

    @staticmethod
    def batch_key(decoded: Decoded) -> Any:
        return decoded.item.key

    def compute(self, batch: list[Decoded]) -> list[int]:
        self.batches.append([d.item.index for d in batch])
        if any(d.item.fail_compute for d in batch):
            raise RuntimeError("out of memory (simulated)")
        return [d.item.index * 10 for d in batch]

    def encode(self, pair: tuple[Decoded, int]) -> tuple[int, int]:
        decoded, out = pair
        if self.jitter:
            time.sleep(random.random() * self.jitter)
        if decoded.item.fail_encode:
            raise OSError(f"disk full writing {decoded.item.index}")
        return decoded.item.index, out


def _run(items: list[Item], recorder: Recorder, **kwargs: Any) -> list[Any]:
    return list(run_pipeline(items, recorder.decode, recorder.batch_key, recorder.compute, recorder.encode, **kwargs))


# ---------------------------------------------------------------- order and batching


@pytest.mark.parametrize("workers", [1, 4])
def test_results_keep_input_order(workers: int) -> None:
    random.seed(0)
    items = [Item(i, key="ab"[i % 2]) for i in range(20)]
    recorder = Recorder(jitter=0.003)  # decode/encode finish out of order
    results = _run(items, recorder, batch_size=3, workers=workers)
    assert results == [(i, i * 10) for i in range(20)]


def test_batches_only_consecutive_same_key_up_to_batch_size() -> None:
    keys = "aaabbaaaaabab"
    items = [Item(i, key=k) for i, k in enumerate(keys)]
    recorder = Recorder()
    results = _run(items, recorder, batch_size=3, workers=2)
    assert recorder.batches == [[0, 1, 2], [3, 4], [5, 6, 7], [8, 9], [10], [11], [12]]
    assert results == [(i, i * 10) for i in range(len(keys))]


def test_batch_size_one_and_large_batch() -> None:
    items = [Item(i) for i in range(5)]
    recorder = Recorder()
    _run(items, recorder, batch_size=1)
    assert recorder.batches == [[0], [1], [2], [3], [4]]
    recorder = Recorder()
    _run(items, recorder, batch_size=64, workers=3)
    assert recorder.batches == [[0, 1, 2, 3, 4]]  # bounded only by the input


def test_batch_key_is_compared_not_hashed() -> None:
    # Keys such as (h, w) tuples compare by value.
    items = [Item(i) for i in range(4)]
    recorder = Recorder()
    results = list(
        run_pipeline(items, recorder.decode, lambda d: (48, 64), recorder.compute, recorder.encode, batch_size=4)
    )
    assert recorder.batches == [[0, 1, 2, 3]]
    assert len(results) == 4


def test_empty_input() -> None:
    recorder = Recorder()
    assert _run([], recorder, batch_size=4) == []
    assert recorder.batches == []


def test_lazy_input_is_consumed_incrementally() -> None:
    # An endless iterator: the pipeline prefetches a bounded number of items only.
    pulled = []

    def endless():
        for i in itertools.count():
            pulled.append(i)
            yield Item(i)

    recorder = Recorder()
    gen = run_pipeline(
        endless(), recorder.decode, recorder.batch_key, recorder.compute, recorder.encode, batch_size=2, workers=2
    )
    first = list(itertools.islice(gen, 5))
    gen.close()
    assert first == [(i, i * 10) for i in range(5)]
    assert len(pulled) < 20


# ---------------------------------------------------------------- failures


def test_decode_failure_is_failed_with_original_item_and_run_continues() -> None:
    items = [Item(0), Item(1), Item(2, fail_decode=True), Item(3), Item(4)]
    recorder = Recorder()
    results = _run(items, recorder, batch_size=4, workers=2)
    assert len(results) == 5
    assert results[:2] == [(0, 0), (1, 10)] and results[3:] == [(3, 30), (4, 40)]
    failed = results[2]
    assert isinstance(failed, Failed)
    assert failed.item is items[2]
    assert failed.reason == "cannot decode 2"
    # The failed item never reaches compute; batches stay consecutive runs.
    seen = [i for batch in recorder.batches for i in batch]
    assert seen == [0, 1, 3, 4]
    assert all(b == list(range(b[0], b[0] + len(b))) for b in recorder.batches)


def test_encode_failure_is_failed_with_original_item() -> None:
    items = [Item(i, fail_encode=(i == 1)) for i in range(4)]
    recorder = Recorder()
    results = _run(items, recorder, batch_size=2)
    assert [r for r in results if not isinstance(r, Failed)] == [(0, 0), (2, 20), (3, 30)]
    assert isinstance(results[1], Failed)
    assert results[1].item is items[1]
    assert results[1].reason == "disk full writing 1"


def test_compute_failure_fails_its_batch_only() -> None:
    keys = "aabbcc"
    items = [Item(i, key=k, fail_compute=(i == 3)) for i, k in enumerate(keys)]
    recorder = Recorder()
    results = _run(items, recorder, batch_size=2)
    assert recorder.batches == [[0, 1], [2, 3], [4, 5]]
    assert results[0] == (0, 0) and results[1] == (1, 10)
    for i in (2, 3):  # the whole batch [2, 3] failed, each with its own original item
        assert isinstance(results[i], Failed)
        assert results[i].item is items[i]
        assert "out of memory" in results[i].reason
    assert results[4:] == [(4, 40), (5, 50)]


def test_every_stage_failing_in_one_run() -> None:
    items = [
        Item(0),
        Item(1, fail_decode=True),
        Item(2, key="b", fail_compute=True),
        Item(3, key="c", fail_encode=True),
        Item(4, key="c"),
    ]
    recorder = Recorder()
    results = _run(items, recorder, batch_size=4, workers=3)
    assert len(results) == 5
    assert [isinstance(r, Failed) for r in results] == [False, True, True, True, False]
    assert [r.item for r in results if isinstance(r, Failed)] == items[1:4]
    assert results[4] == (4, 40)


def test_errors_outside_the_error_types_propagate() -> None:
    items = [Item(0), Item(1, fail_decode=True)]
    recorder = Recorder()
    with pytest.raises(ValueError, match="cannot decode 1"):
        _run(items, recorder, errors=(OSError,))


def test_compute_returning_too_few_outputs_does_not_drop_items() -> None:
    items = [Item(i) for i in range(3)]
    results = list(
        run_pipeline(
            items, Recorder().decode, Recorder.batch_key, lambda batch: [1], lambda pair: pair[1], batch_size=3
        )
    )
    assert len(results) == 3
    assert all(isinstance(r, Failed) for r in results[1:])


def _stop_thread(thread: threading.Thread) -> None:
    """Raise SystemExit inside a (pure-Python) busy thread so a hang does not outlive the test."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(SystemExit))
    thread.join(5)


def test_batch_size_zero_is_rejected_not_a_hang() -> None:
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["results"] = _run([Item(0)], Recorder(), batch_size=0)
        except ValueError as error:
            outcome["error"] = error
        except SystemExit:
            outcome["hung"] = True

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(1.0)
    if thread.is_alive():
        _stop_thread(thread)
        pytest.fail("run_pipeline(batch_size=0) did not return within 1 s")
    assert "error" in outcome


# ---------------------------------------------------------------- devices


def test_select_device_cpu() -> None:
    assert select_device("cpu") == torch.device("cpu")


def test_select_device_auto_without_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_device("auto") == torch.device("cpu")
    assert select_device() == torch.device("cpu")


def test_select_device_auto_with_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert select_device("auto") == torch.device("cuda")


def test_select_device_cuda_without_cuda_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for name in ("cuda", "cuda:0"):
        with pytest.raises(DeviceError, match="CUDA is not available"):
            select_device(name)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_select_device_cuda_raises_on_this_machine() -> None:
    with pytest.raises(DeviceError):
        select_device("cuda")


def test_select_device_cuda_index_out_of_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert select_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(DeviceError, match="only 1 CUDA device"):
        select_device("cuda:3")


@pytest.mark.parametrize("name", ["gpu", "cuda:x", "mps", "meta"])
def test_select_device_rejects_other_names(name: str) -> None:
    with pytest.raises(DeviceError):
        select_device(name)
    assert issubclass(DeviceError, ValueError)


# ---------------------------------------------------------------- precision


@pytest.mark.parametrize("precision", ["fp16"])  # bf16 on the CPU: tests/test_runtime.py
def test_autocast_half_on_cpu_warns_and_runs_fp32(precision: str) -> None:
    with pytest.warns(UserWarning, match=f"{precision} requested on the CPU"):
        ctx = autocast(torch.device("cpu"), precision)
    with ctx:
        y = torch.nn.functional.linear(torch.rand(2, 3), torch.rand(4, 3))
    assert y.dtype == torch.float32


@pytest.mark.parametrize("precision", ["auto", "fp32"])
def test_autocast_cpu_default_is_silent(precision: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ctx = autocast(torch.device("cpu"), precision)
        with ctx:
            assert (torch.rand(2, 2) @ torch.rand(2, 2)).dtype == torch.float32


def test_autocast_unknown_precision() -> None:
    with pytest.raises(DeviceError, match="unknown precision 'fp8'"):
        autocast(torch.device("cpu"), "fp8")


def test_autocast_cuda_dtypes(monkeypatch: pytest.MonkeyPatch) -> None:
    cuda = torch.device("cuda")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constructing a CUDA autocast without CUDA warns
        assert not isinstance(autocast(cuda, "fp32"), torch.autocast)
        assert autocast(cuda, "fp16").fast_dtype == torch.float16
        assert autocast(cuda, "bf16").fast_dtype == torch.bfloat16
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
        assert autocast(cuda, "auto").fast_dtype == torch.bfloat16
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
        assert autocast(cuda, "auto").fast_dtype == torch.float16


# ---------------------------------------------------------------- threads and model


def test_configure_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    threads = torch.get_num_threads()
    monkeypatch.setattr(runner, "busy_cores", lambda: 0)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    try:
        monkeypatch.setattr(runner.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
        assert configure_threads() == 3
        assert torch.get_num_threads() == 3
        assert configure_threads(7) == 7
        monkeypatch.setattr(runner.os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
        assert configure_threads() == 4  # I/O workers are capped
    finally:
        torch.set_num_threads(threads)


def test_configure_threads_leaves_busy_cores_to_their_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    threads = torch.get_num_threads()
    monkeypatch.setattr(runner.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    try:
        for busy, expected in ((0, 2), (1, 1), (5, 1)):
            monkeypatch.setattr(runner, "busy_cores", lambda busy=busy: busy)
            assert configure_threads() == 2  # I/O workers: by cores
            assert torch.get_num_threads() == expected
        monkeypatch.setenv("OMP_NUM_THREADS", "2")
        configure_threads()
        assert torch.get_num_threads() == 2  # the user's setting wins
    finally:
        torch.set_num_threads(threads)


def test_busy_cores_reads_the_runnable_tasks(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    assert runner._own_running_threads() >= 1  # this test's thread
    loadavg = tmp_path / "loadavg"
    real_path = runner.Path
    monkeypatch.setattr(runner, "Path", lambda p: loadavg if p == "/proc/loadavg" else real_path(p))
    monkeypatch.setattr(runner, "_own_running_threads", lambda: 1)
    loadavg.write_text("2.10 1.50 0.80 3/345 12345\n")
    assert runner.busy_cores() == 2  # three runnable, one of them this process
    monkeypatch.setattr(runner, "_own_running_threads", lambda: 2)
    assert runner.busy_cores() == 1  # two of them this process's
    loadavg.write_text("0.00 0.00 0.00 1/100 1\n")
    assert runner.busy_cores() == 0
    loadavg.write_text("garbage\n")
    assert runner.busy_cores() == 0


def test_prepare_model_cpu() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5)).train()
    prepared = prepare_model(model, torch.device("cpu"))
    assert not prepared.training
    assert next(prepared.parameters()).device.type == "cpu"


@pytest.mark.parametrize("name", [spec.name for spec in list_models(include_tiny=True) if spec.tiny])
def test_fold_batchnorm_keeps_the_function(name: str) -> None:
    """Folding every conv→BN pair (prepare_model) changes no output beyond float rounding."""
    import copy

    from cfx.registry import create_model
    from cfx.runner import fold_batchnorm

    torch.manual_seed(0)
    model = create_model(name)
    for module in model.modules():  # non-trivial statistics, so the fold is exercised
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
    model.eval()
    if hasattr(model, "predict_ab"):
        x = torch.rand(2, 1, 64, 64)
        run = lambda net: net.predict_ab(x)  # noqa: E731
    else:
        x = torch.rand(2, 3, model.input_size, model.input_size) * 2 - 1
        run = lambda net: net(x)  # noqa: E731
    with torch.inference_mode():
        before = run(model)
        folded = fold_batchnorm(copy.deepcopy(model))
        after = run(folded)
    torch.testing.assert_close(after, before, atol=1e-4, rtol=1e-4)
    norms = [m for m in folded.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    if name.startswith(("iizuka", "koala", "basenet", "decnet")):
        assert not norms, "a conv→BN pair was left unfolded"
    with pytest.raises(ValueError):
        fold_batchnorm(create_model(name).train())


def test_stop_request_outside_a_pipeline_stops_at_once() -> None:
    from cfx.runner import request_stop

    with pytest.raises(KeyboardInterrupt):
        request_stop()


def test_stop_request_in_a_pipeline_reports_every_write_under_way() -> None:
    """What SIGINT/SIGTERM do in the CLI: the request made while the caller handles a result
    is taken when the pipeline resumes; no new item starts, every encode that ran is reported."""
    from cfx.runner import request_stop, run_pipeline

    written: list[int] = []
    lock = threading.Lock()

    def encode(pair: tuple[int, int]) -> int:
        time.sleep(0.01)
        with lock:
            written.append(pair[0])
        return pair[0]

    reported: list[int] = []
    with pytest.raises(KeyboardInterrupt):
        for value in run_pipeline(
            range(100), lambda x: x, lambda x: 0, lambda batch: batch, encode, batch_size=4, workers=2
        ):
            reported.append(value)
            if len(reported) == 1:
                request_stop()  # deferred: the pipeline is running
    assert 1 <= len(reported) < 100
    assert sorted(reported) == sorted(written)  # nothing written goes unreported
    with pytest.raises(KeyboardInterrupt):  # and once the pipeline has ended, a request stops at once again
        request_stop()


def test_cpu_batches_are_capped_by_model_input_pixels() -> None:
    import torch as _torch

    from cfx.colorize import CPU_BATCH_PIXELS, batch_size_for

    @dataclass
    class _Colorizer:
        device: Any
        render_size: int

    cpu, gpu = _torch.device("cpu"), _torch.device("cuda", 0)
    assert batch_size_for(_Colorizer(cpu, 320), 4) == 4  # the default model's render size: batches of 4
    assert batch_size_for(_Colorizer(cpu, 320), 2) == 2  # never more than asked
    assert batch_size_for(_Colorizer(cpu, 512), 4) == CPU_BATCH_PIXELS // (512 * 512) == 1  # iizuka.full: one at a time
    assert batch_size_for(_Colorizer(cpu, 4096), 4) == 1  # at least one
    assert batch_size_for(_Colorizer(gpu, 512), 16) == 16  # GPUs batch as asked
