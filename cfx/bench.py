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


# ---------------------------------------------------------------- issue 29: before and after, the peer's network


def eccv16_network() -> Any:
    """Zhang, Isola and Efros 2016 (ECCV), the colorization network of their Table 4 / Fig. 2,
    with random weights: eight conv blocks of 64-128-256-512-512-512-512-256 channels (2, 2,
    3, 3, 3, 3, 3, 3 convs; blocks 1-3 end with a stride-2 conv, blocks 5-6 are dilated by
    2, block 8 starts with a stride-2 transposed conv), ReLU after every conv and batch
    norm at the end of blocks 1-7; a 1×1 conv to the 313 a*b* bins, softmax, a 1×1 conv to
    a*b* and the ×4 bilinear upsampling of the authors' released model."""
    from torch import nn

    layers: list[nn.Module] = []
    cin = 1
    plan = [
        (64, 2, 1, 2),
        (128, 2, 1, 2),
        (256, 3, 1, 2),
        (512, 3, 1, 1),
        (512, 3, 2, 1),
        (512, 3, 2, 1),
        (512, 3, 1, 1),
    ]
    for width, depth, dilation, last_stride in plan:
        for k in range(depth):
            stride = last_stride if k == depth - 1 else 1
            layers += [nn.Conv2d(cin, width, 3, stride, padding=dilation, dilation=dilation), nn.ReLU(True)]
            cin = width
        layers.append(nn.BatchNorm2d(width))
    layers += [nn.ConvTranspose2d(512, 256, 4, 2, 1), nn.ReLU(True)]
    layers += [nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(True), nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(True)]
    layers += [nn.Conv2d(256, 313, 1), nn.Softmax(dim=1), nn.Conv2d(313, 2, 1, bias=False)]
    layers.append(nn.Upsample(scale_factor=4, mode="bilinear"))
    return nn.Sequential(*layers).eval()


def eccv16_forward_s(repeat: int, size: int = 256) -> float:
    """Median seconds of one bare forward pass of :func:`eccv16_network` at size² (inference
    mode, fp32, torch's defaults: what a user of the released model runs)."""
    import torch

    net, x = eccv16_network(), torch.rand(1, 1, size, size)
    with torch.inference_mode():
        return _median_seconds(lambda: net(x), repeat)


def eccv16_part(repeat: int) -> dict[str, Any]:
    """The ECCV16 forward pass at 256², on the threads cfx would take on this machine now."""
    import torch

    from cfx.runner import configure_threads

    configure_threads()
    forward = eccv16_forward_s(repeat)
    net, x = eccv16_network(), torch.rand(1, 1, 256, 256)
    with torch.inference_mode():
        cpu = _median_cpu_seconds(lambda: net(x), repeat)
    return {
        "size": 256,
        "forward_s": round(forward, 4),
        "forward_cpu_s": round(cpu, 4),
        "threads": torch.get_num_threads(),
    }


def _median_cpu_seconds(call: Callable[[], Any], repeat: int) -> float:
    """Median CPU seconds (this process, all threads) of ``repeat`` calls after a warm-up call:
    what a machine shared with other work distorts least."""
    import statistics

    call()
    times = []
    for _ in range(max(1, repeat)):
        start = time.process_time()
        call()
        times.append(time.process_time() - start)
    return statistics.median(times)


def _median_seconds(call: Callable[[], Any], repeat: int) -> float:
    """Median wall seconds of ``repeat`` calls after two warm-up calls."""
    import statistics

    call()
    call()
    return statistics.median(_call_seconds(call) for _ in range(max(1, repeat)))


# The earlier implementation, kept as the reference the stage table compares with: L* in
# float with power functions, the merge as float L*a*b* → sRGB on a full 3-channel float
# image, quantised and encoded afterwards; gray decodes copied into three float channels.


def reference_lightness(image: Any) -> Any:
    """L* as cfx computed it before (strips of 512 rows, power functions per pixel)."""
    import numpy as np
    import torch

    from cfx.color import gray_to_lightness, rgb_to_lightness
    from cfx.imageio import GRAY_MODES

    rgb = torch.from_numpy(np.ascontiguousarray(image.rgb)).permute(2, 0, 1)
    fn, planes = (gray_to_lightness, rgb[:1]) if image.mode in GRAY_MODES else (rgb_to_lightness, rgb)
    return torch.cat([fn(planes[:, top : top + 512].float()) for top in range(0, planes.shape[1], 512)], dim=1)


def reference_merge(lightness: Any, ab: Any) -> Any:
    """The full-resolution merge as cfx did it before: float32 H×W×3 sRGB."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from cfx.color import merge_luminance

    height, width = lightness.shape[1:]
    out = np.empty((height, width, 3), dtype=np.float32)
    ab = ab[None].float()
    h = ab.shape[2]
    for top in range(0, height, 512):
        rows = slice(top, min(height, top + 512))
        ys = (torch.arange(rows.start, rows.stop, dtype=torch.float32) + 0.5) * (h / height) - 0.5
        y0 = ys.floor().clamp(0, h - 1)
        frac = (ys - y0).clamp(0, 1)
        y0 = y0.long()
        y1 = (y0 + 1).clamp(max=h - 1)
        strip = ab[:, :, y0] * (1 - frac)[None, None, :, None] + ab[:, :, y1] * frac[None, None, :, None]
        strip = F.interpolate(strip, size=(strip.shape[2], width), mode="bilinear", align_corners=False)
        out[rows] = merge_luminance(lightness[:, rows], strip[0]).permute(1, 2, 0).numpy()
    return out


def _gray_photo(width: int, height: int, path: Path, seed: int = 0) -> None:
    """A gray photo-like JPEG: an example photo's texture at the wanted size, shifted by ``seed``."""
    import numpy as np
    from PIL import Image

    source = Path(__file__).resolve().parents[1] / "examples" / "old_photos" / "nagasaki-boats.jpg"
    if not source.exists():
        _photo(max(width, height), path, seed)
        return
    with Image.open(source) as im:
        gray = np.asarray(im.convert("L").resize((width, height), Image.Resampling.BICUBIC))
    Image.fromarray(np.roll(gray, 37 * seed, axis=1)).save(path, quality=90)


def stage_table(width: int, height: int, repeat: int) -> dict[str, Any]:
    """Per stage of one photo's path through `cfx colorize`, the median milliseconds of the
    earlier implementation (``before``) and of today's (``after``), timed in turns; and the CPU
    milliseconds of each (all threads), which a machine shared with other work distorts less."""
    import statistics

    import numpy as np
    import torch
    import torch.nn.functional as F

    from cfx.colorize import load_colorizer, render_shape, save_result
    from cfx.imageio import load_image
    from cfx.loading import DEFAULT_MODELS
    from cfx.runner import configure_threads

    colorizer = load_colorizer(DEFAULT_MODELS["colorize"])
    earlier = load_colorizer(DEFAULT_MODELS["colorize"], precision="fp32")  # fp32, NCHW: as before
    earlier.model.to(memory_format=torch.contiguous_format)
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "in.jpg", Path(tmp) / "out.jpg"
        _gray_photo(width, height, source)
        image = load_image(source)
        prepared = colorizer.prepare(image)
        ab = colorizer.predict([prepared])[0]
        lightness = prepared.lightness
        h, w = render_shape(height, width, colorizer.render_size, colorizer.multiple)

        def before_prepare() -> Any:
            full = reference_lightness(image)
            return F.interpolate(full[None], size=(h, w), mode="bilinear", antialias=True, align_corners=False)

        pairs = {
            "decode": (lambda: np.ascontiguousarray(load_image(source).rgb), lambda: load_image(source)),
            "lightness_and_resize": (before_prepare, lambda: colorizer.prepare(image)),
            "model": (lambda: earlier.predict([prepared]), lambda: colorizer.predict([prepared])),
            "merge": (lambda: reference_merge(lightness, ab), lambda: colorizer.finish(prepared, ab, image.bit_depth)),
        }
        merged = {"before": reference_merge(lightness, ab), "after": colorizer.finish(prepared, ab, image.bit_depth)}
        pairs["encode_and_write"] = (
            lambda: save_result(image, merged["before"], target),
            lambda: save_result(image, merged["after"], target),
        )
        rows: dict[str, Any] = {}
        configure_threads()
        cores = torch.get_num_threads()
        for stage, calls in pairs.items():
            wall: dict[str, list[float]] = {"before": [], "after": []}
            cpu: dict[str, list[float]] = {"before": [], "after": []}
            # Threads as in `cfx colorize`: the model on every core; before, the I/O stages
            # as well (torch's default in the pool's threads), now on one (cfx.runner.io_thread).
            threads = {"before": cores, "after": cores if stage == "model" else 1}
            for _ in range(max(1, repeat) + 1):  # the first round warms up
                for label, call in zip(("before", "after"), calls):
                    torch.set_num_threads(threads[label])
                    start, start_cpu = time.perf_counter(), time.process_time()
                    call()
                    wall[label].append(time.perf_counter() - start)
                    cpu[label].append(time.process_time() - start_cpu)
            torch.set_num_threads(cores)
            for label in wall:
                del wall[label][0], cpu[label][0]
            rows[stage] = {label: round(statistics.median(wall[label]) * 1000, 2) for label in ("before", "after")} | {
                f"{label}_cpu": round(statistics.median(cpu[label]) * 1000, 2) for label in ("before", "after")
            }
    megapixels = width * height / 1e6
    return {
        "model": colorizer.name,
        "input": [width, height],
        "render": [w, h],
        "precision": {"before": "fp32", "after": "bf16" if isinstance(colorizer.autocast, torch.autocast) else "fp32"},
        "ms": rows,
        "merge_ms_per_megapixel": {k: round(rows["merge"][k] / megapixels, 2) for k in ("before", "after")},
        "threads": {"model": cores, "io_before": cores, "io_after": 1},
    }


def folder_run(count: int, width: int, height: int, repeat: int) -> dict[str, Any]:
    """Images/s of the default colorizer over a folder (decode, model and encode overlapped,
    as `cfx colorize` runs it) against the model alone at the pipeline's batch size."""
    import statistics

    from cfx.colorize import batch_size_for, colorize_files, load_colorizer
    from cfx.imageio import load_image
    from cfx.loading import DEFAULT_MODELS
    from cfx.runner import Failed, configure_threads

    workers = configure_threads()
    colorizer = load_colorizer(DEFAULT_MODELS["colorize"])
    batch = batch_size_for(colorizer, 4)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inputs = [folder / f"in{i}.jpg" for i in range(count)]
        for i, path in enumerate(inputs):
            _gray_photo(width, height, path, seed=i)
        prepared = [colorizer.prepare(load_image(p)) for p in inputs[:batch]]
        model_s = _median_seconds(lambda: colorizer.predict(prepared), max(3, repeat)) / len(prepared)
        runs = []
        for r in range(max(1, repeat)):
            jobs = [(p, folder / f"out{r}_{i}.jpg") for i, p in enumerate(inputs)]
            start = time.perf_counter()
            results = list(colorize_files(colorizer, jobs, batch_size=4, workers=workers))
            runs.append(time.perf_counter() - start)
            failed = [x for x in results if isinstance(x, Failed)]
            if failed:
                raise RuntimeError(failed[0].reason)
    per_image = statistics.median(runs) / count
    return {
        "model": colorizer.name,
        "images": count,
        "input": [width, height],
        "batch": batch,
        "workers": workers,
        "model_s_per_photo": round(model_s, 4),
        "images_per_s": round(1 / per_image, 2),
        "images_per_s_over_model_rate": round(model_s / per_image, 3),
        "peak_rss_mib": peak_rss_mib(),
    }


def cli_end_to_end(count: int, width: int, height: int) -> dict[str, Any]:
    """Seconds per photo of one `cfx colorize FOLDER -o OUT` process over ``count`` photos,
    process start included (the issue's measure)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        for i in range(count):
            _gray_photo(width, height, folder / f"scan{i:03d}.jpg", seed=i)
        command = [
            sys.executable,
            "-m",
            "cfx.cli.main",
            "colorize",
            str(folder),
            "-o",
            str(Path(tmp) / "out"),
            "--quiet",
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds = _command_seconds(command)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "photos": count,
        "input": [width, height],
        "seconds": seconds,
        "s_per_photo": round(seconds / count, 4),
        "cpu_s_per_photo": round(cpu / count, 4),
    }


_STARTUP_PROBE = """
import json, sys, time
marks = [(time.perf_counter(), time.process_time())]
import torch
marks.append((time.perf_counter(), time.process_time()))
import cfx.colorize, cfx.loading, cfx.registry
from cfx.runner import configure_threads
configure_threads()  # as `cfx colorize` does
marks.append((time.perf_counter(), time.process_time()))
colorizer = cfx.colorize.load_colorizer()
marks.append((time.perf_counter(), time.process_time()))
prepared = colorizer.prepare(__import__("cfx.imageio").imageio.load_image(sys.argv[1]))
marks.append((time.perf_counter(), time.process_time()))
colorizer.predict([prepared])
marks.append((time.perf_counter(), time.process_time()))
colorizer.predict([prepared])
marks.append((time.perf_counter(), time.process_time()))
names = ["import_torch", "import_cfx", "load_default_weights", "first_photo_prepare", "first_forward", "second_forward"]
print(json.dumps({name: [b[0] - a[0], b[1] - a[1]] for name, a, b in zip(names, marks, marks[1:])}))
"""


def startup(repeat: int) -> dict[str, Any]:
    """What a `cfx colorize` process pays before its first photo, each part the median of
    ``repeat`` fresh processes: interpreter, import torch (the floor), cfx's imports and
    registry, reading and building the default weights, and the first forward pass's
    warm-up (first minus second forward)."""
    import statistics

    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "in.jpg"
        _gray_photo(1024, 768, photo)
        probes = []
        for _ in range(max(1, repeat)):
            done = subprocess.run([sys.executable, "-c", _STARTUP_PROBE, str(photo)], capture_output=True, text=True)
            if done.returncode != 0:
                return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
            probes.append(json.loads(done.stdout))
        interpreter = [_command_seconds([sys.executable, "-c", "pass"]) for _ in range(max(1, repeat))]
        help_s = [_command_seconds([sys.executable, "-m", "cfx.cli.main", "--help"]) for _ in range(max(1, repeat))]
    parts = {key: round(statistics.median(p[key][0] for p in probes), 3) for key in probes[0]}
    parts["first_forward_warmup"] = round(max(0.0, parts["first_forward"] - parts["second_forward"]), 3)
    cpu = {key: round(statistics.median(p[key][1] for p in probes), 3) for key in probes[0]}
    return {
        "python": round(statistics.median(interpreter), 3),
        "cfx_help": round(statistics.median(help_s), 3),
        **parts,
        "cpu_s": cpu,
    }


_MEMORY_PROBE = """
import sys
from pathlib import Path
from PIL import Image
Image.MAX_IMAGE_PIXELS = None  # the bench raises the pixel limits itself (library call)
from cfx.colorize import load_colorizer, write_colorized
from cfx.imageio import load_image
from cfx.runner import configure_threads
configure_threads()
colorizer = load_colorizer()
image = load_image(sys.argv[1], max_pixels=10**9)
prepared = colorizer.prepare(image)
write_colorized(colorizer, prepared, colorizer.predict([prepared])[0], Path(sys.argv[2]))
for line in Path("/proc/self/status").read_text().splitlines():
    if line.startswith("VmHWM:"):
        print(round(int(line.split()[1]) / 1024, 1))
"""


def _scan(width: int, height: int, kind: str, path: Path) -> None:
    """A synthetic scan: ``gray8`` (8-bit gray PNG) or ``rgb16`` (16-bit RGB PNG), made row block by block."""
    import numpy as np
    from PIL import Image

    from cfx.imageio import encode_png16

    x = np.arange(width, dtype=np.uint32)[None, :]
    if kind == "gray8":
        pixels = np.empty((height, width), np.uint8)
        for top in range(0, height, 1024):
            y = np.arange(top, min(height, top + 1024), dtype=np.uint32)[:, None]
            pixels[top : top + 1024] = (x * 7 + y * 3) // 16 % 256
        Image.fromarray(pixels, "L").save(path, compress_level=1)
        return
    y = np.arange(height, dtype=np.uint32)[:, None]
    level = ((x * 7 + y * 3) * 13 % 65536).astype(np.uint16)
    path.write_bytes(encode_png16(np.stack([level, level // 2 + 9000, 65535 - level], axis=-1)))


def memory(width: int, height: int, kind: str) -> dict[str, Any]:
    """Peak RSS (MiB) of a fresh process colorizing one width×height scan with the default
    colorizer (decode, L*, model, merge, encode, write), the pixel limit raised."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "scan.png"
        _scan(width, height, kind, source)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _MEMORY_PROBE, str(source), str(Path(tmp) / "out.png")],
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        return {"input": [width, height], "kind": kind, "error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    peak = float(done.stdout.split()[-1])
    return {
        "input": [width, height],
        "kind": kind,
        "peak_rss_mib": peak,
        "peak_rss_gib": round(peak / 1024, 2),
        "seconds": round(seconds, 1),
    }


def precision_check(repeat: int, model: str | None = None) -> dict[str, Any]:
    """A colorizer (default: the default one) on the CPU in fp32 and in bf16 (channels_last, batch norms folded):
    CPU milliseconds of one forward pass on one thread (median), and PSNR over
    examples/colour_photos. ``cpu_bf16`` is what its card records for ``--precision auto``."""
    import statistics

    import torch

    from cfx.colorize import load_colorizer
    from cfx.evaluate import evaluate, image_paths
    from cfx.loading import DEFAULT_MODELS
    from cfx.runner import cpu_bf16_measured

    torch.set_num_threads(1)
    model = model or DEFAULT_MODELS["colorize"]
    photos = image_paths(Path(__file__).resolve().parents[1] / "examples" / "colour_photos")
    forward_ms: dict[str, float] = {}
    psnr_db: dict[str, float] = {}
    for precision in ("fp32", "bf16"):
        colorizer = load_colorizer(model, device="cpu", precision=precision)
        x = torch.rand(1, 1, colorizer.render_size, colorizer.render_size)
        with torch.inference_mode(), colorizer.autocast:
            colorizer.model.predict_ab(x)
            times = []
            for _ in range(max(5, repeat)):
                start = time.process_time()
                colorizer.model.predict_ab(x)
                times.append(time.process_time() - start)
        forward_ms[precision] = round(statistics.median(times) * 1000, 1)
        psnr_db[precision] = round(float(evaluate(colorizer, photos)["psnr"]), 4)
    measured = {"forward_ms": forward_ms, "psnr_db": psnr_db, "photos": len(photos)}
    return {
        "model": model,
        "cpu_bf16": measured,
        "auto_picks_bf16": cpu_bf16_measured({"cpu_bf16": measured}),
    }


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


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    return int(width), int(height or width)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cfx.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="", help="square sizes of the per-model runs (empty: skip)")
    parser.add_argument("--models", default=DEFAULT, help="models of the per-model runs")
    parser.add_argument("--folder", type=int, default=0, help="images in the per-model folder run (0: skip)")
    parser.add_argument("--folder-size", type=int, default=512)
    parser.add_argument(
        "--repeat", type=int, default=5, help="repeats; timings are medians (best of, in per-model runs)"
    )
    parser.add_argument("--detector", default="", help="modes of the default detector to time (empty: skip)")
    parser.add_argument("--detector-folder", type=int, default=0, help="images in the detector's folder run (0: skip)")
    parser.add_argument("--stages", default="1024x768", help="WxH of the stage table, before and after (empty: skip)")
    parser.add_argument("--photos", type=int, default=24, help="photos of the folder and `cfx colorize` runs (0: skip)")
    parser.add_argument("--photo-size", default="1024x768", help="WxH of those photos")
    parser.add_argument(
        "--memory", default="4096x4096:rgb16,15000x14000:gray8", help="peak-RSS scans, WxH:KIND (empty: skip)"
    )
    parser.add_argument("--startup", type=int, default=3, help="fresh processes of the start-up probe (0: skip)")
    parser.add_argument("--precision-check", action="store_true", help="fp32 against bf16: speed and PSNR on examples")
    parser.add_argument("--one", nargs=4, metavar=("MODEL", "WEIGHTS", "SIZE", "COUNT"), help=argparse.SUPPRESS)
    parser.add_argument("--one-detector", nargs=3, metavar=("MODE", "SIZE", "COUNT"), help=argparse.SUPPRESS)
    parser.add_argument("--part", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.part:  # one section in a fresh process
        name, *rest = args.part
        parts: dict[str, Callable[[], Any]] = {
            "stages": lambda: stage_table(*_size(rest[0]), args.repeat),
            "folder": lambda: folder_run(int(rest[0]), *_size(rest[1]), max(1, args.repeat // 2)),
            "eccv16": lambda: eccv16_part(args.repeat),
            "precision": lambda: precision_check(args.repeat, rest[0] if rest else None),
        }
        print(json.dumps(parts[name]()))
        return
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

    from cfx.loading import DEFAULT_MODELS

    report: dict[str, Any] = {
        "schema": "cfx.bench/2",
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "cuda": torch.cuda.is_available(),
        "default_colorizer": DEFAULT_MODELS["colorize"],
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "runs": [],
    }

    def section(key: str, value: Any) -> None:
        report[key] = value
        print(json.dumps({key: value}), file=sys.stderr)

    repeat = ["--repeat", str(args.repeat)]
    if args.stages:
        section("stages", _subprocess([*repeat, "--part", "stages", args.stages]))
    section("eccv16", _subprocess([*repeat, "--part", "eccv16"]))
    if args.photos:
        section("folder_pipeline", _subprocess([*repeat, "--part", "folder", str(args.photos), args.photo_size]))
        e2e = cli_end_to_end(args.photos, *_size(args.photo_size))
        forward = report["eccv16"].get("forward_s")
        e2e["over_eccv16_forward"] = round(e2e["s_per_photo"] / forward, 3) if forward else None
        forward_cpu = report["eccv16"].get("forward_cpu_s")
        e2e["cpu_over_eccv16_forward_cpu"] = round(e2e["cpu_s_per_photo"] / forward_cpu, 3) if forward_cpu else None
        section("cfx_colorize", e2e)
    if args.startup:
        section("startup_s", startup(args.startup))
    if args.memory:
        section(
            "memory",
            [memory(*_size(size), kind) for size, _, kind in (m.partition(":") for m in args.memory.split(","))],
        )
    if args.precision_check:
        section("precision", _subprocess([*repeat, "--part", "precision"]))
    with tempfile.TemporaryDirectory() as tmp:
        for model in [m for m in args.models.split(",") if m and args.sizes]:
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
        for size in (int(s) for s in args.sizes.split(",") if s):
            report["detector_runs"].append(
                _subprocess(["--repeat", str(args.repeat), "--one-detector", mode, str(size), "2"])
            )
            print(json.dumps(report["detector_runs"][-1]), file=sys.stderr)
    if args.detector_folder:
        report["detector_folder"] = _subprocess(
            ["--repeat", "1", "--one-detector", "resize", str(args.folder_size), str(args.detector_folder)]
        )
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
