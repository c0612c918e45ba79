"""Benchmark: end-to-end seconds per image against the bare forward pass, for colorizers and the default detector.

    python -m cfx.bench [--sizes 256,512,1024,2048] [--models iizuka.full,DEFAULT] [--folder 64] [--repeat 3]

Prints one JSON report. For each model and square size: ``model_s`` (the forward pass
alone at the render size the CLI uses, inference mode, best of ``--repeat`` after two
warm-up calls, as `cfx colorize` runs it: batch norms folded), ``bare_forward_s`` (the
same network as trained, batch norms not folded: the paper's network run bare; the two are
timed in turns), ``stages_ms`` (one image's decode, L* and
resize, model, full-resolution merge, encode and write, each timed alone) and ``end_to_end_s``
(decode → model → merge at full resolution → encode → atomic write, through the same
pipeline as `cfx colorize`, process start excluded), their ratio, images/s and the peak
RSS of a fresh process doing that run. ``folder`` times the default model over a folder
of photo-sized images; ``detector_runs`` / ``detector_folder`` do the same for the default
detector (`cfx detect`'s path: decode → resize or patches → model; ``--detector
resize,patch``); ``startup_s`` is `cfx --help` and the cost of importing torch
and loading the weights. Models without shipped weights (``iizuka.full``) run with
random weights: timing does not depend on their values. Iizuka, Simo-Serra and Ishikawa 2016, Table 3 (8-core CPU:
0.399 s at 224², 1.676 s at 512², 5.629 s at 1024², 20.1 s at 2048²) is the anchor.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

DEFAULT = "DEFAULT"


def _photo(size: int, path: Path, seed: int = 0, colour: bool = False) -> None:
    """A smooth photo-like image (JPEG) of size×size: gray, or colour for the detector."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    small = (rng.random((8, 8, 3) if colour else (8, 8)) * 255).astype(np.uint8)
    Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC).save(path, quality=90)


def _measure(model_s: float, pipeline: Callable[[int], list[Any]], count: int, repeat: int) -> dict[str, Any]:
    """The forward pass alone (``model_s``, measured by the caller) against the whole
    pipeline over ``count`` images (best of ``repeat``)."""
    import torch

    from cfx.runner import Failed

    best = float("inf")
    for r in range(repeat):
        start = time.perf_counter()
        results = pipeline(r)
        best = min(best, (time.perf_counter() - start) / count)
        failed = [x for x in results if isinstance(x, Failed)]
        if failed:
            raise RuntimeError(failed[0].reason)
    return {
        "images": count,
        "model_s": round(model_s, 4),
        "end_to_end_s": round(best, 4),
        "end_to_end_over_model": round(best / model_s, 3),
        "images_per_s": round(1.0 / best, 3),
        "peak_rss_mib": peak_rss_mib(),
        "threads": torch.get_num_threads(),
    }


def _weights_for(model: str, directory: Path) -> tuple[str | None, str | None]:
    """(model name, weights path): shipped weights, else random weights saved to ``directory``."""
    from cfx.colorize import DEFAULT_COLORIZER
    from cfx.registry import create_model
    from cfx.weights import find_weights, save_model

    name = DEFAULT_COLORIZER if model == DEFAULT else model
    if find_weights(name) is not None:
        return name, None
    path = directory / f"{name}.random.safetensors"
    if not path.exists():
        save_model(create_model(name), path, {"name": name, "note": "random weights for timing"})
    return None, str(path)


def _forward_pair_s(colorizer: Any, prepared: Any, repeat: int) -> tuple[float, float]:
    """Best seconds of one forward pass as `cfx colorize` runs it (batch norms folded) and
    of the network as trained (not folded), timed in turns so that neither gains from
    running later in the process."""
    from cfx.colorize import Colorizer
    from cfx.loading import load

    net = load("colorize", weights=colorizer.card["weights_path"], device=colorizer.device, inference=False).network
    bare = Colorizer(net, colorizer.card, colorizer.device, colorizer.render_size, colorizer.autocast)
    calls = (lambda: colorizer.predict([prepared]), lambda: bare.predict([prepared]))
    for call in calls:  # the first calls of a new model or shape are slower
        call()
        call()
    best = [float("inf"), float("inf")]
    for _ in range(max(1, repeat)):
        for k, call in enumerate(calls):
            best[k] = min(best[k], _call_seconds(call))
    return best[0], best[1]


def _call_seconds(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _best_seconds(call: Callable[[], Any], repeat: int) -> float:
    """The fastest of ``repeat`` calls after two warm-up calls."""
    call()
    call()
    return min(_call_seconds(call) for _ in range(max(1, repeat)))


def _stages_ms(colorizer: Any, source: Path, target: Path, repeat: int) -> dict[str, float]:
    """Milliseconds of each step of one image's path, one after the other (nothing overlapped)."""
    from cfx.colorize import save_result
    from cfx.imageio import load_image

    times: dict[str, float] = {}

    def timed(name: str, call: Callable[[], Any]) -> Any:
        result = call()  # warm-up
        start = time.perf_counter()
        for _ in range(repeat):
            result = call()
        times[name] = round((time.perf_counter() - start) / repeat * 1000, 2)
        return result

    image = timed("decode", lambda: load_image(source))
    prepared = timed("lightness_and_resize", lambda: colorizer.prepare(image))
    ab = timed("model", lambda: colorizer.predict([prepared])[0])
    rgb = timed("merge", lambda: colorizer.finish(prepared, ab))
    timed("encode_and_write", lambda: save_result(image, rgb, target))
    return times


def run_one(model: str | None, weights: str | None, size: int, count: int, repeat: int) -> dict[str, Any]:
    """Time one colorizer configuration in this process (called in a fresh subprocess)."""
    from cfx.colorize import colorize_files, load_colorizer
    from cfx.imageio import load_image
    from cfx.runner import configure_threads

    workers = configure_threads()
    colorizer = load_colorizer(model, weights)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inputs = [folder / f"in{i}.jpg" for i in range(count)]
        for i, path in enumerate(inputs):
            _photo(size, path, seed=i)
        prepared = colorizer.prepare(load_image(inputs[0]))
        model_s, bare_s = _forward_pair_s(colorizer, prepared, repeat)
        timing = _measure(
            model_s,
            lambda r: list(
                colorize_files(
                    colorizer,
                    [(p, folder / f"out{r}_{i}.jpg") for i, p in enumerate(inputs)],
                    batch_size=4,
                    workers=workers,
                )
            ),
            count,
            repeat,
        )
        stages = _stages_ms(colorizer, inputs[0], folder / "stages.jpg", repeat)
    return {
        "model": colorizer.name,
        "size": size,
        "render": list(prepared.model_input.shape[1:][::-1]),
        **timing,
        "bare_forward_s": round(bare_s, 4),
        "end_to_end_over_bare_forward": round(timing["end_to_end_s"] / bare_s, 3),
        "stages_ms": stages,
    }


def run_detector(size: int, count: int, repeat: int, mode: str = "resize") -> dict[str, Any]:
    """Time the default detector (shipped weights) in this process: forward pass vs `cfx detect`'s path."""
    from cfx.detect import detect_files, load_detector
    from cfx.imageio import load_image
    from cfx.runner import configure_threads

    workers = configure_threads()
    detector = load_detector(mode=mode)
    with tempfile.TemporaryDirectory() as tmp:
        inputs = [Path(tmp) / f"in{i}.jpg" for i in range(count)]
        for i, path in enumerate(inputs):
            _photo(size, path, seed=i, colour=True)
        prepared = detector.prepare(load_image(inputs[0]))
        timing = _measure(
            _best_seconds(lambda: detector.predict([prepared]), repeat),
            lambda _: list(detect_files(detector, inputs, batch_size=16, workers=workers)),
            count,
            repeat,
        )
    return {"model": detector.name, "mode": mode, "size": size, "patches": int(prepared.x.shape[0]), **timing}


def peak_rss_mib() -> float:
    """This process's peak resident memory since exec (VmHWM; ru_maxrss would include the parent's at fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _subprocess(args: list[str]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "cfx.bench", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1], "args": args}
    return json.loads(done.stdout)


def _command_seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    return round(time.perf_counter() - start, 3)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cfx.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="256,512,1024,2048")
    parser.add_argument("--models", default=f"iizuka.full,{DEFAULT}")
    parser.add_argument("--folder", type=int, default=64, help="images in the folder run (0: skip)")
    parser.add_argument("--folder-size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--detector", default="resize,patch", help="modes of the default detector to time (empty: skip)"
    )
    parser.add_argument("--detector-folder", type=int, default=64, help="images in the detector's folder run (0: skip)")
    parser.add_argument("--one", nargs=4, metavar=("MODEL", "WEIGHTS", "SIZE", "COUNT"), help=argparse.SUPPRESS)
    parser.add_argument("--one-detector", nargs=3, metavar=("MODE", "SIZE", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one_detector:
        mode, size, count = args.one_detector
        print(json.dumps(run_detector(int(size), int(count), args.repeat, mode)))
        return
    if args.one:
        model, weights, size, count = args.one
        print(
            json.dumps(
                run_one(
                    model if model != "-" else None,
                    weights if weights != "-" else None,
                    int(size),
                    int(count),
                    args.repeat,
                )
            )
        )
        return
    import torch

    report: dict[str, Any] = {
        "schema": "cfx.bench/1",
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "cuda": torch.cuda.is_available(),
        "startup_s": {
            "cfx_help": _command_seconds([sys.executable, "-m", "cfx.cli.main", "--help"]),
            "import_torch_and_load_default": _command_seconds(
                [sys.executable, "-c", "from cfx.colorize import load_colorizer; load_colorizer()"]
            ),
        },
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for model in [m for m in args.models.split(",") if m]:
            name, weights = _weights_for(model, Path(tmp))
            for size in (int(s) for s in args.sizes.split(",")):
                report["runs"].append(
                    _subprocess(["--repeat", str(args.repeat), "--one", name or "-", weights or "-", str(size), "2"])
                )
                print(json.dumps(report["runs"][-1]), file=sys.stderr)
        if args.folder:
            name, weights = _weights_for(DEFAULT, Path(tmp))
            report["folder"] = _subprocess(
                ["--repeat", "1", "--one", name or "-", weights or "-", str(args.folder_size), str(args.folder)]
            )
    report["detector_runs"] = []
    for mode in [m for m in args.detector.split(",") if m]:
        for size in (int(s) for s in args.sizes.split(",")):
            report["detector_runs"].append(
                _subprocess(["--repeat", str(args.repeat), "--one-detector", mode, str(size), "2"])
            )
            print(json.dumps(report["detector_runs"][-1]), file=sys.stderr)
    if args.detector_folder:
        report["detector_folder"] = _subprocess(
            ["--repeat", "1", "--one-detector", "resize", str(args.folder_size), str(args.detector_folder)]
        )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
