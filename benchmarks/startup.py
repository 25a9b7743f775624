"""Start-up of the packaged program against the source install, side by side, and the bundle's size.

Each round starts, interleaved, the source install's and the bundle's (when one is built):

* ``atrap --version`` (the command line's quickest answer);
* the editor, ``atrap-studio --quit-when-drawn``, timed until it says its main window is drawn
  (the arm example open, every dock made; under Xvfb with the xcb platform when a display is
  there, else Qt's offscreen platform).

Prints the median and fastest of each and the bundle's time as a ratio of the source's; then the
bundle's size unpacked, its largest parts, and the size of a packed archive beside it
(scripts/package writes ``dist/atrap-studio-*.tar.xz``). Without a bundle (nothing built) it
measures the source install alone and says so. Run with the processes' files already in the
page cache (the first round is dropped), so this is a start on a machine that has run it before.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python benchmarks/startup.py [--rounds 7]
        [--bundle dist/atrap-studio]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


def timed(command: list[str], env: dict[str, str], until: str | None = None) -> float:
    """Seconds from starting ``command`` to its exit, or to the line ``until`` on its stdout."""
    started = time.perf_counter()
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        assert process.stdout is not None
        seconds = None
        for line in process.stdout:
            if until is not None and line.strip() == until and seconds is None:
                seconds = time.perf_counter() - started
        code = process.wait(timeout=120)
    if code != 0 or (until is not None and seconds is None):
        raise SystemExit(f"{' '.join(command)} failed (exit {code}, said {until!r}: {seconds})")
    return seconds if seconds is not None else time.perf_counter() - started


def installs(bundle: Path) -> dict[str, dict[str, list[str]]]:
    """The commands of each install there is: source (the virtual environment's), bundle."""
    bin_dir = Path(sys.executable).parent
    found = {
        "source": {
            "cli": [str(bin_dir / "atrap"), "--version"],
            "editor": [str(bin_dir / "atrap-studio"), "--quit-when-drawn"],
        }
    }
    if (bundle / "atrap-studio").is_file():
        found["bundle"] = {
            "cli": [str(bundle / "atrap"), "--version"],
            "editor": [str(bundle / "atrap-studio"), "--quit-when-drawn"],
        }
    return found


def sizes(bundle: Path) -> None:
    """The bundle's size unpacked, its largest parts, and its packed archives' sizes."""
    files = [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink()]
    total = sum(p.stat().st_size for p in files)
    print(f"\nbundle {bundle}: {total / MB:,.0f} MB unpacked in {len(files):,} files")
    internal = bundle / "_internal"
    parts: dict[str, int] = {}
    for path in files:
        relative = path.relative_to(internal) if internal in path.parents else path.name
        top = (
            Path(relative).parts[:2]
            if Path(relative).parts[0] in ("torch", "PySide6")
            else Path(relative).parts[:1]
        )
        key = "/".join(top)
        parts[key] = parts.get(key, 0) + path.stat().st_size
    print("largest parts (MB):")
    for key, size in sorted(parts.items(), key=lambda item: -item[1])[:12]:
        print(f"  {size / MB:8,.1f}  {key}")
    largest = sorted(files, key=lambda p: -p.stat().st_size)[:6]
    print("largest files (MB):")
    for path in largest:
        print(f"  {path.stat().st_size / MB:8,.1f}  {path.relative_to(bundle)}")
    for archive in sorted(bundle.parent.glob(f"{bundle.name}-*.tar.xz")) + sorted(
        bundle.parent.glob(f"{bundle.name}-*.zip")
    ):
        size = archive.stat().st_size
        print(f"archive {archive.name}: {size / MB:,.0f} MB ({size / total:.0%} of unpacked)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="measured rounds (default 7)")
    parser.add_argument("--bundle", type=Path, default=REPO / "dist" / "atrap-studio")
    args = parser.parse_args()
    has_display = bool(os.environ.get("DISPLAY"))
    platform = os.environ.get("QT_QPA_PLATFORM") or ("xcb" if has_display else "offscreen")
    with tempfile.TemporaryDirectory(prefix="atrap-startup-") as scratch:
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": platform,
            "XDG_CONFIG_HOME": str(Path(scratch, "config")),
            "XDG_DATA_HOME": str(Path(scratch, "data")),
            "XDG_CACHE_HOME": str(Path(scratch, "cache")),
        }
        found = installs(args.bundle)
        if "bundle" not in found:
            print(
                f"no bundle at {args.bundle} (scripts/package builds it): the source install only"
            )
        print(f"Qt platform {platform}; load {os.getloadavg()[0]:.2f}; {args.rounds} rounds")
        times: dict[tuple[str, str], list[float]] = {}
        for round_ in range(args.rounds + 1):  # the first round fills the page cache: dropped
            for what, until in (("cli", None), ("editor", "drawn")):
                for install, commands in found.items():
                    seconds = timed(commands[what], env, until)
                    if round_ > 0 or args.rounds == 0:
                        times.setdefault((what, install), []).append(seconds)
        print(f"{'':36}{'median s':>10}{'fastest s':>11}{'vs source':>11}")
        for what, title in (("cli", "atrap --version"), ("editor", "editor to a drawn window")):
            source = statistics.median(times[(what, "source")])
            for install in found:
                values = times[(what, install)]
                median = statistics.median(values)
                print(
                    f"{title + ' (' + install + ')':36}{median:10.2f}{min(values):11.2f}"
                    f"{median / source:10.2f}x"
                )
        print(f"load after: {os.getloadavg()[0]:.2f}")
    if "bundle" in found:
        sizes(args.bundle)


if __name__ == "__main__":
    main()
