"""The fault injector: each fault is applied while this runs and undone on SIGTERM or Ctrl-C.

``python -m examples.ocr_service.faults NAME --redis-url URL --prefix P --port PORT``:

=================  ===============================================================================
slow-processing    the OCR host thrashes: every Tesseract process of the service stalls 4 s before it
                   runs (stopped as it starts, SIGCONT 4 s later), so each read takes over 4 s
queue-saturation   every Tesseract read hangs: the four workers block, the traffic and the clients'
                   retries (3/s) pile up; on undo the retries are taken back, the hung reads killed
                   and queued again
error-burst        a broken client uploads two corrupt files a second (truncated PNG, empty, a PDF)
low-confidence     the mail room's scanner fails: every new page comes out blurred and speckled
cache-bypass       a config push sets the cache TTL to 0 and flushes the cache: every look-up misses
=================  ===============================================================================
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
import threading
import time
from collections.abc import Callable

import httpx
import psutil
import redis

from examples._faults import Fault, run, stop

from .documents import TYPES, corrupt_upload, draw

__all__ = ["FAULTS", "main"]

#: seconds each Tesseract process is held stopped
STALL_S = 4.0


def _service(port: int) -> psutil.Process:
    """The process listening on ``port`` (the OCR service)."""
    for conn in psutil.net_connections("tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return psutil.Process(conn.pid)
    raise SystemExit(f"no process listens on 127.0.0.1:{port} (is the OCR service running?)")


def _stall(port: int, seconds: float | None, before_undo: Callable[[], None] | None = None) -> None:
    """Stop each new Tesseract child of the service as soon as it is seen (polled every 20 ms) and
    resume it ``seconds`` later; with ``None``, keep it stopped and kill it on undo (a hung read),
    after ``before_undo()``."""
    service = _service(port)
    stopped: dict[int, tuple[float, psutil.Process]] = {}
    seen: set[int] = set()
    what = f"for {seconds:g} s" if seconds is not None else "until undone (then killed)"
    print(f"stalling each Tesseract process of pid {service.pid} {what}", flush=True)
    try:
        while not stop.wait(0.02):
            with contextlib.suppress(psutil.Error):
                children = service.children()
                for child in children:
                    if child.pid in seen:
                        continue
                    seen.add(child.pid)
                    with contextlib.suppress(psutil.Error):
                        if child.name() == "tesseract":
                            child.suspend()
                            stopped[child.pid] = (time.monotonic(), child)
                if len(seen) > 10_000:
                    seen = {c.pid for c in children}
            for pid, (since, proc) in list(stopped.items()):
                if seconds is not None and time.monotonic() - since >= seconds:
                    with contextlib.suppress(psutil.Error):
                        proc.resume()
                    del stopped[pid]
    finally:
        if before_undo is not None:
            before_undo()
        for _, proc in stopped.values():
            with contextlib.suppress(psutil.Error):
                if seconds is None:
                    proc.kill()
                else:
                    proc.resume()


def slow_processing(args: argparse.Namespace) -> None:
    _stall(args.port, STALL_S)


def queue_saturation(args: argparse.Namespace) -> None:
    """Every read hangs: the four workers block and the traffic piles up in the queue, with the
    clients' retries (three pages sent again, three a second). On undo the clients give up (their
    retries still queued are taken back, LREM) and the hung Tesseract processes are killed; the
    workers put their documents back at the head of the queue."""
    retried = [("invoice", draw("invoice", n)) for n in (1, 2, 3)]
    sent: list[str] = []
    retries = threading.Thread(target=_uploads, args=(args, 3.0, lambda n: retried[n % 3], sent), daemon=True)

    def give_up() -> None:
        retries.join()
        client = redis.Redis.from_url(args.redis_url)
        with client.pipeline() as pipe:
            for job in sent:
                pipe.lrem(f"{args.prefix}jobs", 0, job)
            taken = sum(pipe.execute())
        print(f"took back {taken} of {len(sent)} retries still queued", flush=True)

    retries.start()
    _stall(args.port, None, before_undo=give_up)


def _uploads(
    args: argparse.Namespace,
    per_second: float,
    body: Callable[[int], tuple[str, bytes]],
    sent: list[str] | None = None,
) -> None:
    """Upload ``body(n)`` ``per_second`` until undone; the job ids into ``sent``, if given."""
    with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=10) as http:
        for n in itertools.count(int(time.time()) % 10**6 * 100 + 50):
            if stop.wait(1 / per_second):
                return
            kind, data = body(n)
            with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                answer = http.post("/documents", params={"type": kind}, content=data)
                if sent is not None:
                    sent.append(answer.json()["id"])


def error_burst(args: argparse.Namespace) -> None:
    _uploads(args, 2.0, lambda n: (TYPES[n % len(TYPES)], corrupt_upload(n)))


def low_confidence(args: argparse.Namespace) -> None:
    client = redis.Redis.from_url(args.redis_url)
    client.set(f"{args.prefix}scanner", "degraded")
    try:
        stop.wait()
    finally:
        client.delete(f"{args.prefix}scanner")


def cache_bypass(args: argparse.Namespace) -> None:
    client = redis.Redis.from_url(args.redis_url)
    client.hset(f"{args.prefix}settings", "cache_ttl", 0)
    flushed = sum(client.delete(k) for k in client.scan_iter(f"{args.prefix}cache:*", count=500))
    print(f"cache TTL 0, {flushed} cached results flushed", flush=True)
    try:
        stop.wait()
    finally:
        client.hdel(f"{args.prefix}settings", "cache_ttl")


FAULTS: dict[str, Fault] = {
    "slow-processing": slow_processing,
    "queue-saturation": queue_saturation,
    "error-burst": error_burst,
    "low-confidence": low_confidence,
    "cache-bypass": cache_bypass,
}


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--prefix", default="ocr:", help="the service's Redis key prefix")
    parser.add_argument("--port", type=int, default=3001, help="the OCR service's port")


def main(argv: list[str] | None = None) -> int:
    return run(FAULTS, "python -m examples.ocr_service.faults", __doc__, argv, options=_options)


if __name__ == "__main__":
    sys.exit(main())
