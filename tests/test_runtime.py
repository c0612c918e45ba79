"""The CPU runtime switches of cfx.runner: bf16 under ``--precision auto`` only where a
model's card recorded it faster and as good, channels_last on every device, and I/O
threads that leave torch's intra-op threads to the model."""

from __future__ import annotations

import contextlib
import threading

import pytest
import torch

from cfx import runner
from cfx.runner import autocast, cpu_bf16_measured, prepare_model

MEASURED = {"forward_ms": {"fp32": 51.2, "bf16": 28.3}, "psnr_db": {"fp32": 24.2566, "bf16": 24.2834}}


def _with(**changes: dict) -> dict:
    return {"cpu_bf16": {**MEASURED, **changes}}


@pytest.mark.parametrize(
    ("card", "expected"),
    [
        (_with(), True),
        (_with(psnr_db={"fp32": 24.30, "bf16": 24.26}), True),  # 0.04 dB lost: within 0.05
        (_with(psnr_db={"fp32": 24.30, "bf16": 24.24}), False),  # 0.06 dB lost
        (_with(forward_ms={"fp32": 50.0, "bf16": 52.0}), False),  # bf16 slower
        ({}, False),
        ({"cpu_bf16": "yes"}, False),
    ],
)
def test_auto_bf16_needs_a_measurement_that_says_faster_and_as_good(card: dict, expected: bool) -> None:
    assert cpu_bf16_measured(card) is expected


def _dtype(context: object) -> torch.dtype | None:
    return getattr(context, "fast_dtype", None) if isinstance(context, torch.autocast) else None


@pytest.mark.parametrize(
    ("precision", "measured", "native", "expected"),
    [
        ("auto", True, True, torch.bfloat16),
        ("auto", True, False, None),  # emulated bf16 is slow: auto stays fp32
        ("auto", False, True, None),  # not measured for this model
        ("fp32", True, True, None),
        ("bf16", False, False, torch.bfloat16),  # asked for: given
    ],
)
def test_cpu_autocast(monkeypatch, precision: str, measured: bool, native: bool, expected: torch.dtype | None) -> None:
    monkeypatch.setattr(runner, "native_cpu_bf16", lambda: native)
    context = autocast(torch.device("cpu"), precision, cpu_bf16=measured)
    assert _dtype(context) == expected
    if expected is None:
        assert isinstance(context, contextlib.nullcontext)


def test_fp16_on_the_cpu_still_falls_back_to_fp32() -> None:
    with pytest.warns(UserWarning):
        assert isinstance(autocast(torch.device("cpu"), "fp16"), contextlib.nullcontext)


def test_the_shipped_default_colorizer_card_lets_auto_pick_bf16() -> None:
    from cfx.loading import load

    loaded = load("colorize", device="cpu", precision="fp32")
    if "cpu_bf16" not in loaded.card:
        pytest.skip(f"{loaded.spec.name}'s card has no CPU bf16 measurement (python -m cfx.bench --precision-check)")
    assert cpu_bf16_measured(loaded.card)


def test_prepare_model_uses_channels_last_on_the_cpu() -> None:
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU(), torch.nn.Conv2d(8, 4, 1)
    )
    x = torch.rand(2, 3, 9, 11)
    expected = model.eval()(x)
    prepared = prepare_model(model, torch.device("cpu"))
    assert prepared[0].weight.is_contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        assert torch.allclose(prepared(x), expected, atol=1e-5)


def test_bf16_colorizer_stays_close_to_fp32() -> None:
    from cfx.colorize import load_colorizer

    lightness = torch.linspace(0, 1, 96 * 128).reshape(1, 96, 128)
    outputs = {}
    for precision in ("fp32", "bf16"):
        colorizer = load_colorizer(device="cpu", precision=precision)
        from cfx.colorize import Prepared

        outputs[precision] = colorizer.predict([Prepared(None, lightness * 100, lightness)])[0]  # type: ignore[arg-type]
    assert outputs["bf16"].dtype == torch.float32
    assert float((outputs["bf16"] - outputs["fp32"]).abs().mean()) < 1.0  # a*b* units


def test_io_threads_run_torch_on_one_thread() -> None:
    from cfx.runner import run_pipeline

    seen: list[int] = []
    main_threads = torch.get_num_threads()
    lock = threading.Lock()

    def decode(item: int) -> int:
        with lock:
            seen.append(torch.get_num_threads())
        return item

    results = list(run_pipeline(range(6), decode, lambda x: 0, lambda batch: batch, lambda pair: pair[1], workers=2))
    assert results == list(range(6))
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == main_threads
