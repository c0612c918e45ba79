"""Scale check: memory stays flat over big folders, and a 4096² photo fits in 2 GiB.

    python -m cfx.scale_check [--counts 1000,10000] [--big 4096] [--command colorize|detect]
                              [--stdin] [--workers N] [--weights FILE] [--workdir DIR]

A slow script, not a test (on a busy 2-core CPU the default colorizer does ~55 small
images/s: 1,000 take ~20 s, 10,000 a few minutes, plus writing the images). For
each count N it writes N small grayscale JPEGs (``--size``, default 64×48) into a folder
and runs the real command on it in a fresh process (``cfx colorize DIR -o OUT --json
--quiet``, or ``cfx detect``; with ``--stdin`` the paths are piped to ``-`` as
`find | cfx colorize -` would). While it runs, the child's resident memory (VmRSS) is
sampled against the number of records it has written; at the end its peak (ru_maxrss of
the reaped child) is read. Memory is flat when the peak at the largest count is within
``--max-growth`` (default 10 % + 64 MiB) of the peak at the smallest. ``--big S`` then
colorizes one S×S grayscale photo and checks its peak against ``--big-limit-mib`` (2048).

Prints one JSON report (``cfx.scale-check/1``) on stdout, progress on stderr, and exits
0 when every check passes, 1 otherwise. Uses the shipped default model unless
``--weights``/``--model`` say otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

SCHEMA = "cfx.scale-check/1"


def write_images(folder: Path, count: int, width: int, height: int) -> None:
    """``count`` distinct smooth grayscale JPEGs, spread over subfolders of 1000."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(count):
        sub = folder / f"{i // 1000:03d}"
        if i % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        small = rng.integers(0, 256, size=(3, 4), dtype=np.uint8)
        Image.fromarray(small, "L").resize((width, height), Image.Resampling.BICUBIC).save(
            sub / f"img{i:05d}.jpg", quality=90
        )


def big_image(path: Path, side: int) -> None:
    """A side×side grayscale photo-like JPEG (smooth shapes plus grain)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(1)
    base = Image.fromarray(rng.integers(0, 256, size=(12, 12), dtype=np.uint8), "L").resize(
        (side, side), Image.Resampling.BICUBIC
    )
    grain = rng.normal(0, 6, size=(side, side))
    pixels = np.clip(np.asarray(base, dtype=np.float32) + grain, 0, 255).astype(np.uint8)
    Image.fromarray(pixels, "L").save(path, quality=92)


def _rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as handle:
            return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return 0


def run_command(
    args: list[str], stdout: Path, stdin_lines: list[str] | None = None, sample_every: float = 1.0
) -> dict[str, Any]:
    """Run ``cfx ARGS`` in a fresh process; its exit code, seconds, peak RSS and RSS samples."""
    command = [sys.executable, "-m", "cfx.cli.main", *args]
    started = time.perf_counter()
    with open(stdout, "wb") as out:
        child = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.PIPE,
            stdin=subprocess.PIPE if stdin_lines is not None else subprocess.DEVNULL,
        )
        if stdin_lines is not None:
            feeder = threading.Thread(target=_feed, args=(child, stdin_lines), daemon=True)
            feeder.start()
        errors: list[bytes] = []
        drain = threading.Thread(target=lambda: errors.append(child.stderr.read()), daemon=True)
        drain.start()
        samples: list[tuple[int, float]] = []
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            rss = _rss_mib(child.pid)
            if rss is not None:
                samples.append((_count_lines(stdout), rss))
            time.sleep(sample_every)
        child.returncode = os.waitstatus_to_exitcode(status)
        drain.join(timeout=10)
    seconds = time.perf_counter() - started
    records = [json.loads(line) for line in stdout.read_text().splitlines() if line.strip()]
    stderr = b"".join(errors).decode(errors="replace").strip().splitlines()
    return {
        "exit_code": child.returncode,
        "seconds": round(seconds, 1),
        "records": len(records),
        "errors": sum("error" in r for r in records),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),  # Linux: KiB; the reaped child alone
        "rss_samples": _thin(samples),
        "stderr_tail": stderr[-3:],
    }


def _feed(child: subprocess.Popen, lines: list[str]) -> None:
    try:
        for line in lines:
            child.stdin.write((line + "\n").encode())
        child.stdin.close()
    except BrokenPipeError:
        pass


def _thin(samples: list[tuple[int, float]], keep: int = 12) -> list[dict[str, float]]:
    """At most ``keep`` (records done, RSS MiB) samples, evenly spread, the last included."""
    if len(samples) > keep:
        step = len(samples) / keep
        samples = [samples[int(i * step)] for i in range(keep - 1)] + [samples[-1]]
    return [{"done": done, "rss_mib": rss} for done, rss in samples]


def model_args(args: argparse.Namespace) -> list[str]:
    extra = []
    if args.model:
        extra += ["--model", args.model]
    if args.weights:
        extra += ["--weights", str(args.weights)]
    if args.workers is not None:
        extra += ["--workers", str(args.workers)]
    return extra


def folder_run(work: Path, count: int, args: argparse.Namespace) -> dict[str, Any]:
    folder = work / f"in_{count}"
    if not folder.exists():
        print(f"scale_check: writing {count} images of {args.size} into {folder}", file=sys.stderr)
        width, height = (int(v) for v in args.size.split("x"))
        write_images(folder, count, width, height)
    out = work / f"out_{count}"
    source = "-" if args.stdin else str(folder)
    cli = [args.command, source, "--json", "--quiet", *model_args(args)]
    if args.command != "detect":
        cli += ["-o", str(out)]
    lines = sorted(str(p) for p in folder.rglob("*.jpg")) if args.stdin else None
    print(f"scale_check: cfx {' '.join(cli)}", file=sys.stderr)
    result = run_command(cli, work / f"records_{count}.jsonl", lines, args.sample_every)
    result.update(images=count, images_per_s=round(count / max(result["seconds"], 1e-9), 2))
    print(
        f"scale_check: {count} images: {json.dumps({k: result[k] for k in ('exit_code', 'seconds', 'records', 'errors', 'peak_rss_mib')})}",
        file=sys.stderr,
    )
    return result


def big_run(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    source = work / f"big_{args.big}.jpg"
    if not source.exists():
        big_image(source, args.big)
    cli = ["colorize", str(source), "-o", str(work / "out_big"), "--json", "--quiet", *model_args(args)]
    print(f"scale_check: cfx {' '.join(cli)}", file=sys.stderr)
    result = run_command(cli, work / "records_big.jsonl", None, 0.2)
    result.update(
        side=args.big,
        limit_mib=args.big_limit_mib,
        within_limit=result["exit_code"] == 0 and result["peak_rss_mib"] <= args.big_limit_mib,
    )
    print(
        f"scale_check: {args.big}x{args.big}: peak {result['peak_rss_mib']} MiB (limit {args.big_limit_mib}), exit {result['exit_code']}",
        file=sys.stderr,
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cfx.scale_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="1000,10000", help="folder sizes to run, comma-separated (empty: none)")
    parser.add_argument("--size", default="64x48", help="WIDTHxHEIGHT of the folder images")
    parser.add_argument("--command", default="colorize", choices=("colorize", "detect"))
    parser.add_argument("--stdin", action="store_true", help="pipe the paths to `-` instead of naming the folder")
    parser.add_argument("--big", type=int, default=4096, help="side of the single large photo (0: skip)")
    parser.add_argument("--big-limit-mib", type=float, default=2048.0)
    parser.add_argument(
        "--max-growth",
        type=float,
        default=0.10,
        help="allowed relative growth of the peak RSS from the smallest to the largest count (plus 64 MiB)",
    )
    parser.add_argument("--model", default=None)
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--sample-every", type=float, default=1.0, help="seconds between RSS samples")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep images and outputs here (default: a temporary folder, removed)"
    )
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.counts.split(",") if c.strip()]
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "command": args.command,
        "stdin": args.stdin,
        "size": args.size,
        "cpu_count": os.cpu_count(),
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for count in counts:
            report["runs"].append(folder_run(work, count, args))
        if args.big:
            report["big"] = big_run(work, args)
    checks: dict[str, bool] = {}
    for run in report["runs"]:
        checks[f"all {run['images']} processed"] = (
            run["exit_code"] == 0 and run["records"] == run["images"] and run["errors"] == 0
        )
    if len(report["runs"]) >= 2:
        first, last = report["runs"][0], report["runs"][-1]
        allowed = first["peak_rss_mib"] * (1 + args.max_growth) + 64
        report["rss_growth"] = {
            "from_images": first["images"],
            "to_images": last["images"],
            "peak_mib": [first["peak_rss_mib"], last["peak_rss_mib"]],
            "allowed_mib": round(allowed, 1),
        }
        checks["flat memory"] = last["peak_rss_mib"] <= allowed
    if "big" in report:
        checks[f"{args.big}x{args.big} within {args.big_limit_mib:g} MiB"] = report["big"]["within_limit"]
    report["checks"] = checks
    report["ok"] = all(checks.values())
    print(json.dumps(report, indent=1))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
