"""The runner shared by every inference command: device, precision, threads, pipeline.

- Device: ``auto`` picks CUDA when present, else the CPU; ``cuda:N`` is checked.
- Precision: autocast in bf16/fp16 on CUDA; the CPU runs fp32, or bf16 when asked for or
  when ``auto`` finds the model's card measured it faster and as good on a CPU with native
  bf16 (a request for fp16 on the CPU warns and falls back, as whisper does).
- Pipeline: inputs are decoded by a pool of worker threads ahead of the model (Pillow,
  numpy and torch release the GIL), consecutive inputs of the same size are batched, and
  outputs are encoded and written by the pool while the model computes the next batch.
  Each worker runs torch on one thread (:func:`io_thread`); the model keeps the cores.
  Results come back in input order, so stdout is deterministic. A stop request
  (:func:`request_stop`, what SIGINT and SIGTERM call in the CLI) during a run is taken
  at the pipeline's next step: no new work starts, the writes under way finish and are
  reported, then ``KeyboardInterrupt`` unwinds as usual.
- Inference form (:func:`prepare_model`): eval mode, and every batch normalisation that
  directly follows a convolution folded into it (Iizuka, Simo-Serra and Ishikawa 2016, §3.6, do the same at
  test time): one pass over the activations fewer per layer, the same function.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterable, Iterator, TypeVar

import torch

from cfx.errors import UsageError

T = TypeVar("T")
P = TypeVar("P")
R = TypeVar("R")


class DeviceError(UsageError):
    """An unknown or unavailable device, or an unknown precision."""


def select_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DeviceError(f"unknown device {name!r} (auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {name!r} requested but CUDA is not available")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"device {name!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    elif device.type != "cpu":
        raise DeviceError(f"unsupported device {name!r} (auto, cpu, cuda or cuda:N)")
    return device


def autocast(device: torch.device, precision: str = "auto", cpu_bf16: bool = False) -> ContextManager[Any]:
    """Autocast context for inference: bf16/fp16 on CUDA; on the CPU, bf16 when asked for, or
    with ``auto`` when ``cpu_bf16`` (the model was measured faster in bf16 on a CPU, and as
    good: :func:`cpu_bf16_measured`) and this CPU computes bf16 natively (AVX512-BF16 or AMX)."""
    if precision not in ("auto", "fp32", "fp16", "bf16"):
        raise DeviceError(f"unknown precision {precision!r} (auto, fp32, fp16 or bf16)")
    if device.type != "cuda":
        if precision == "bf16" or (precision == "auto" and cpu_bf16 and native_cpu_bf16()):
            return torch.autocast("cpu", dtype=torch.bfloat16)
        if precision == "fp16":
            warnings.warn(f"{precision} requested on the CPU; running in fp32", stacklevel=2)
        return contextlib.nullcontext()
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    if precision == "auto" and not torch.cuda.is_bf16_supported():
        dtype = torch.float16
    return torch.autocast("cuda", dtype=dtype)


# `--precision auto` runs a model in bf16 on a CPU only if its card records a measurement
# (``cpu_bf16``: forward milliseconds and PSNR on examples/colour_photos, fp32 and bf16) in
# which bf16 was faster and lost at most this much PSNR.
CPU_BF16_MAX_PSNR_LOSS_DB = 0.05


def cpu_bf16_measured(card: dict[str, Any]) -> bool:
    """Whether ``card``'s ``cpu_bf16`` measurement lets ``auto`` pick bf16 on a CPU."""
    measured = card.get("cpu_bf16")
    try:
        faster = measured["forward_ms"]["bf16"] < measured["forward_ms"]["fp32"]
        loss = measured["psnr_db"]["fp32"] - measured["psnr_db"]["bf16"]
    except (KeyError, TypeError):
        return False
    return bool(faster and loss <= CPU_BF16_MAX_PSNR_LOSS_DB)


def native_cpu_bf16() -> bool:
    """Whether this CPU has bf16 arithmetic (AVX512-BF16 or AMX); elsewhere bf16 is emulated, slowly."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def configure_threads(workers: int | None = None) -> int:
    """Intra-op threads for the model: the cores this process may use, less those other
    processes keep busy right now (:func:`busy_cores`), at least one; ``OMP_NUM_THREADS``
    overrides. Returns the number of I/O workers.

    On a machine another job keeps busy (a training run), a model split over threads that
    wait for each other at every layer runs many times slower than on the cores left to it:
    unet.lite0's forward pass took 0.7-4 s on two threads beside a training job and test runs,
    0.07 s on one.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    requested = os.environ.get("OMP_NUM_THREADS", "")
    threads = int(requested) if requested.isdigit() and int(requested) > 0 else max(1, cores - busy_cores())
    torch.set_num_threads(threads)
    return workers if workers is not None else min(4, max(1, cores))


def busy_cores(samples: int = 3) -> int:
    """Cores other tasks keep busy now: the runnable tasks Linux counts in /proc/loadavg less
    this process's own running threads, the least of a few samples a millisecond apart (a
    passing task does not count); 0 where that is not known."""
    counts = []
    for k in range(samples):
        try:
            running = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return 0
        counts.append(running - max(1, _own_running_threads()))
        if k + 1 < samples:
            time.sleep(0.001)
    return max(0, min(counts))


def _own_running_threads() -> int:
    """This process's threads in state R (say, torch's threads still spinning after an operation)."""
    count = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 1
    for task in tasks:
        try:
            stat = Path(f"/proc/self/task/{task}/stat").read_text()
        except OSError:
            continue
        count += stat.rpartition(")")[2].split()[:1] == ["R"]
    return count


def prepare_model(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """Inference form: eval mode, batch norms folded, on ``device``, channels_last.

    channels_last helps on the CPU too (oneDNN's convolutions): every shipped model ran
    faster in it, 1.05–2.7× (``docs/performance.md``). The model is changed in place; it is
    for inference only from then on.
    """
    return fold_batchnorm(model.eval()).to(device).to(memory_format=torch.channels_last)


def fold_batchnorm(model: torch.nn.Module) -> torch.nn.Module:
    """Fold each BatchNorm2d that directly follows a (transposed) convolution in an
    ``nn.Sequential`` into that convolution, in place; the norm becomes ``nn.Identity``.

    Only for a model in eval mode (the norm's running statistics are what is folded).
    """
    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    if model.training:
        raise ValueError("fold_batchnorm needs a model in eval mode")
    for block in model.modules():
        if not isinstance(block, nn.Sequential):
            continue
        names = list(block._modules)
        for first, second in zip(names, names[1:]):
            conv, norm = block._modules[first], block._modules[second]
            if (
                isinstance(conv, (nn.Conv2d, nn.ConvTranspose2d))
                and isinstance(norm, nn.BatchNorm2d)
                and norm.track_running_stats
            ):
                block._modules[first] = fuse_conv_bn_eval(conv, norm, transpose=isinstance(conv, nn.ConvTranspose2d))
                block._modules[second] = nn.Identity()
    return model


@dataclass
class Failed:
    """A per-item failure that the pipeline passes through in order."""

    item: Any  # the original input item
    reason: str


def _call(fn: Callable[[Any], Any], arg: Any, item: Any, error_types: tuple[type[BaseException], ...]) -> Any:
    try:
        return fn(arg)
    except error_types as error:
        return Failed(item, str(error))


def _outcome(head: Future | Failed) -> Any:
    """A queued encode's result (waiting for it), or the failure queued in its place."""
    return head if isinstance(head, Failed) else head.result()


@dataclass
class _StopState:
    """How many pipelines are running (each takes a stop request at its next step), and whether a request came."""

    running: int = 0
    requested: bool = False


_STOP = _StopState()  # one per process: signal handlers reach it through request_stop()


def request_stop() -> None:
    """Stop now (``KeyboardInterrupt``), or, while a pipeline runs, at its next step; a
    second request while one is pending stops now."""
    if _STOP.running and not _STOP.requested:
        _STOP.requested = True
        return
    raise KeyboardInterrupt


def _stop_if_requested() -> None:
    if _STOP.requested:
        raise KeyboardInterrupt


class _Pipeline:
    """One run of :func:`run_pipeline`: inputs decoding ahead in the pool (``decoded``) and
    results encoding in the pool (``encoded``), both in input order."""

    def __init__(
        self,
        items: Iterable[Any],
        decode: Callable[[Any], Any],
        batch_key: Callable[[Any], Any],
        compute: Callable[[list[Any]], list[Any]],
        encode: Callable[[tuple[Any, Any]], Any],
        batch_size: int,
        workers: int,
        errors: tuple[type[BaseException], ...],
        pool: ThreadPoolExecutor,
    ) -> None:
        self.decode, self.batch_key, self.compute, self.encode = decode, batch_key, compute, encode
        self.batch_size, self.errors, self.pool = batch_size, errors, pool
        self.prefetch = max(2 * batch_size, 2 * workers)
        self.decoded: deque[tuple[Any, Future[Any]]] = deque()
        self.encoded: deque[Future[Any] | Failed] = deque()
        self.source = iter(items)
        self.exhausted = False

    def refill(self) -> None:
        """Start decoding inputs until ``prefetch`` are under way or the inputs run out."""
        while not self.exhausted and len(self.decoded) < self.prefetch:
            try:
                item = next(self.source)
            except StopIteration:
                self.exhausted = True
                return
            self.decoded.append((item, self.pool.submit(_call, self.decode, item, item, self.errors)))

    def next_batch(self) -> list[tuple[Any, Any]]:
        """Up to ``batch_size`` decoded inputs with one batch key, in order; a failed decode
        ends a batch and is queued as it is."""
        batch: list[tuple[Any, Any]] = []
        while self.decoded and len(batch) < self.batch_size:
            item, future = self.decoded[0]
            ready = future.result()
            if isinstance(ready, Failed):
                if batch:
                    break
                self.decoded.popleft()
                self.encoded.append(ready)
                self.refill()
                continue
            if batch and self.batch_key(ready) != self.batch_key(batch[0][1]):
                break
            self.decoded.popleft()
            batch.append((item, ready))
            self.refill()
        return batch

    def compute_batch(self, batch: list[tuple[Any, Any]]) -> None:
        """Run the model on ``batch`` and queue each result's encoding (or the batch's failure)."""
        try:
            outputs = self.compute([ready for _, ready in batch])
        except self.errors as error:
            self.encoded.extend(Failed(item, str(error)) for item, _ in batch)
            return
        if len(outputs) != len(batch):
            reason = f"model returned {len(outputs)} results for a batch of {len(batch)}"
            self.encoded.extend(Failed(item, reason) for item, _ in batch)
            return
        self.encoded.extend(
            self.pool.submit(_call, self.encode, (ready, out), item, self.errors)
            for (item, ready), out in zip(batch, outputs)
        )

    def drain(self, block: bool) -> Iterator[Any]:
        """Queued results in order: those done (or, with ``block``, all of them, waiting)."""
        while self.encoded and (block or isinstance(self.encoded[0], Failed) or self.encoded[0].done()):  # type: ignore[union-attr]
            value = _outcome(self.encoded[0])
            self.encoded.popleft()
            yield value
            _stop_if_requested()  # a request that came while the caller handled the value

    def finish_under_way(self) -> Iterator[Any]:
        """After a stop: cancel what has not started, and report the writes already under way
        (the pool finishes them anyway). A second signal from here on stops at once."""
        _STOP.requested = True
        for _, future in self.decoded:
            future.cancel()
        for head in self.encoded:
            if isinstance(head, Failed) or not head.cancel():
                yield _outcome(head)


def io_thread() -> None:
    """Set up a pipeline I/O thread: its torch operations (L*, the full-resolution merge) run
    on this thread alone. The model's intra-op threads keep the cores; torch's threads in
    each I/O thread as well would oversubscribe them, and a split pass waits for its slowest
    thread whenever another one is descheduled. (torch's thread count is per thread here:
    the caller's stays as it was; threads started afterwards begin with one as well.)"""
    torch.set_num_threads(1)


def run_pipeline(
    items: Iterable[T],
    decode: Callable[[T], P],
    batch_key: Callable[[P], Any],
    compute: Callable[[list[P]], list[Any]],
    encode: Callable[[tuple[P, Any]], R],
    batch_size: int = 1,
    workers: int = 2,
    errors: tuple[type[BaseException], ...] = (Exception,),
) -> Iterator[R | Failed]:
    """decode (threads) → compute (batched, caller's thread) → encode (threads), in input order.

    A stage raising one of ``errors`` turns its item into :class:`Failed` (carrying the
    original input item) and the run goes on; a failing ``compute`` fails its batch.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="cfx-io", initializer=io_thread) as pool:
        pipeline = _Pipeline(items, decode, batch_key, compute, encode, batch_size, workers, errors, pool)
        _STOP.running += 1
        _STOP.requested = False
        try:
            pipeline.refill()
            while pipeline.decoded:
                _stop_if_requested()
                batch = pipeline.next_batch()
                if batch:
                    pipeline.compute_batch(batch)
                yield from pipeline.drain(block=False)
            yield from pipeline.drain(block=True)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM
            yield from pipeline.finish_under_way()
            raise
        finally:
            _STOP.running -= 1
