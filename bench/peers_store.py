#!/usr/bin/python3
"""Optuna's RDB storage under the workload of bench_store: ask+tell round trips per second.

For each worker count W: a fresh SQLite file, one study created in it, then W worker processes
(forked after the study exists, each opening its own RDBStorage) that loop
    trial = study.ask(); x = trial.suggest_float("x", -5, 5);
    lr = trial.suggest_float("lr", 1e-5, 1, log=True); study.tell(trial, x*x + (log10 lr + 2)^2)
with the RandomSampler, exactly as bench_store does with caviar. The workers wait for each
other (every one has its storage and study loaded) and then share one window on the monotonic
clock: a warm-up, then --seconds during which every round trip that ends is counted. Prints one
JSON line per worker count, a "store" record as bench_store writes them, with "source"
"optuna-<version>".

Optuna on SQLite with several processes may fail a call with "database is locked" (SQLite's
busy timeout, 5 s by default in Python's sqlite3, runs out while another process holds the
lock). Such errors are counted, by kind and by call, and the worker goes on with a new trial:
they are part of the comparison. A trial whose ask succeeded but whose tell failed stays
RUNNING in the study; the check after the run counts those.

usage: peers_store.py [--workers 1,4,8] [--seconds 5] [--warmup 1] [--dir DIR] [--seed 0]
                      [--storage-url URL]
  --dir DIR          where the fresh SQLite files go (default: a new temporary directory,
                     removed at the end)
  --storage-url URL  a SQLAlchemy URL to use instead of fresh SQLite files (each worker count
                     then gets a study of its own name in it)
Exit status: 0 done, 1 a run failed (a worker died), 77 Optuna cannot be imported, 2 usage.
"""
import argparse
import json
import math
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
import traceback


def error_kind(exc):
    """A short label for an exception: "database is locked" when it is that."""
    text = str(exc)
    if "database is locked" in text:
        return "database is locked"
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"{type(exc).__name__}: {first[:160]}"


def quantile(sorted_v, q):
    """Linear interpolation between order statistics (numpy's default), as bench_store."""
    if not sorted_v:
        return None
    h = q * (len(sorted_v) - 1)
    lo = math.floor(h)
    hi = min(lo + 1, len(sorted_v) - 1)
    return sorted_v[lo] + (h - lo) * (sorted_v[hi] - sorted_v[lo])


def worker(idx, url, study_name, ready, go, window, out_q):
    """One worker process: loads the study, waits for the others, loops round trips."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    result = {"worker": idx, "told": 0, "window": 0, "first": 0, "before": 0, "latencies": [],
              "ask": 0.0, "suggest": 0.0, "tell": 0.0, "errors": {}, "errors_by_call": {},
              "cpu_per_wall": None, "failed": None}
    try:
        storage = optuna.storages.RDBStorage(url)
        study = optuna.load_study(study_name=study_name, storage=storage,
                                  sampler=optuna.samplers.RandomSampler())
    except Exception as exc:  # noqa: BLE001 - reported, not hidden
        result["failed"] = "cannot load the study: " + error_kind(exc)
        ready.wait()
        out_q.put(result)
        return
    ready.wait()
    go.wait()
    t0, t1 = window[0], window[1]
    mid = 0.5 * (t0 + t1)
    cpu0 = wall0 = cpu1 = wall1 = None
    while True:
        start = time.monotonic()
        call = "ask"
        try:
            trial = study.ask()
            b = time.monotonic()
            call = "suggest"
            x = trial.suggest_float("x", -5, 5)
            lr = trial.suggest_float("lr", 1e-5, 1, log=True)
            c = time.monotonic()
            call = "tell"
            r = math.log10(lr) + 2
            study.tell(trial, x * x + r * r)
        except Exception as exc:  # noqa: BLE001 - counted: part of the comparison
            kind = error_kind(exc)
            result["errors"][kind] = result["errors"].get(kind, 0) + 1
            result["errors_by_call"][call] = result["errors_by_call"].get(call, 0) + 1
            if time.monotonic() > t1:
                break
            continue
        end = time.monotonic()
        result["told"] += 1
        if end < t0:
            result["before"] += 1
            continue
        if end > t1:
            break
        if cpu0 is None:
            cpu0, wall0 = time.process_time(), end
        result["window"] += 1
        result["first"] += end < mid
        result["latencies"].append(end - start)
        result["ask"] += b - start
        result["suggest"] += c - b
        result["tell"] += end - c
        cpu1, wall1 = time.process_time(), end
    if cpu0 is not None and wall1 > wall0:
        result["cpu_per_wall"] = (cpu1 - cpu0) / (wall1 - wall0)
    out_q.put(result)


def check_study(optuna, url, study_name, told):
    """What the study holds after the run, against the round trips the workers completed."""
    storage = optuna.storages.RDBStorage(url)
    study = optuna.load_study(study_name=study_name, storage=storage)
    trials = study.get_trials(deepcopy=False)
    states = {}
    for t in trials:
        states[t.state.name] = states.get(t.state.name, 0) + 1
    numbers = sorted(t.number for t in trials)
    problems = []
    complete = states.get("COMPLETE", 0)
    if complete != told:
        problems.append(f"{complete} trials COMPLETE, the workers completed {told} round trips")
    others = {k: v for k, v in states.items() if k != "COMPLETE"}
    if others:
        problems.append("trials not COMPLETE: " + ", ".join(f"{v} {k}" for k, v in others.items()))
    if numbers != list(range(len(numbers))):
        problems.append("trial numbers are not 0..n-1")
    return {"trials_in_study": len(trials), "trials_complete": complete,
            "trials_left_running": states.get("RUNNING", 0), "states": states,
            "problems": "; ".join(problems)}


def run(optuna, url, study_name, workers, seconds, warmup, seed):
    """One worker count: returns the record."""
    ctx = mp.get_context("fork")
    storage = optuna.storages.RDBStorage(url)
    optuna.create_study(study_name=study_name, storage=storage,
                        sampler=optuna.samplers.RandomSampler(seed=seed))
    # No connection of the parent's may be shared with the forked workers.
    storage.engine.dispose()
    del storage
    ready, go = ctx.Barrier(workers + 1), ctx.Event()
    window = ctx.Array("d", [math.inf, math.inf], lock=False)
    out_q = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(i, url, study_name, ready, go, window, out_q))
             for i in range(workers)]
    for p in procs:
        p.start()
    ready.wait()  # every worker has its storage and study loaded
    now = time.monotonic()
    window[0], window[1] = now + warmup, now + warmup + seconds
    go.set()
    results, failed = [], None
    deadline = now + warmup + seconds + 120
    while len(results) < workers:
        try:
            results.append(out_q.get(timeout=max(1.0, deadline - time.monotonic())))
        except Exception:  # noqa: BLE001 - queue.Empty: a worker hung or died
            failed = f"{workers - len(results)} workers did not report within the deadline"
            break
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():
            p.kill()  # our own child, by its handle
            p.join()
        if p.exitcode not in (0, None) and not failed:
            failed = f"a worker exited with status {p.exitcode}"
    results.sort(key=lambda r: r["worker"])
    for r in results:
        if r["failed"] and not failed:
            failed = f"worker {r['worker']}: {r['failed']}"

    counted = sum(r["window"] for r in results)
    first = sum(r["first"] for r in results)
    told = sum(r["told"] for r in results)
    errors, by_call = {}, {}
    for r in results:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
        for k, v in r["errors_by_call"].items():
            by_call[k] = by_call.get(k, 0) + v
    p50, p99 = [], []
    for r in results:
        lat = sorted(r["latencies"])
        p50.append(None if not lat else round(1e3 * quantile(lat, 0.5), 4))
        p99.append(None if not lat else round(1e3 * quantile(lat, 0.99), 4))

    def per_trip(key):
        return round(1e3 * sum(r[key] for r in results) / counted, 4) if counted else None

    record = {"kind": "store", "source": "optuna-" + optuna.__version__,
              "backend": url.split(":", 1)[0].split("+", 1)[0],
              "storage": url, "workers": workers, "mode": "seconds", "seconds": seconds,
              "warmup": warmup, "elapsed_s": seconds, "round_trips": counted,
              "round_trips_per_s": round(counted / seconds, 3),
              "first_half_per_s": round(first / (0.5 * seconds), 3),
              "second_half_per_s": round((counted - first) / (0.5 * seconds), 3),
              "trials_at_window_open": sum(r["before"] for r in results),
              "per_worker_per_s": [round(r["window"] / seconds, 3) for r in results],
              "p50_ms": p50, "p99_ms": p99,
              "mean_ms": round(1e3 * sum(sum(r["latencies"]) for r in results) / counted, 4)
              if counted else None,
              "ask_ms": per_trip("ask"), "suggest_ms": per_trip("suggest"),
              "tell_ms": per_trip("tell"),
              "cpu_per_wall": [None if r["cpu_per_wall"] is None else round(r["cpu_per_wall"], 3)
                               for r in results],
              "errors": sum(errors.values()),
              "locked_errors": errors.get("database is locked", 0),
              "error_kinds": errors, "errors_by_call": by_call,
              "failed": failed is not None, "reason": failed or "", "trials_told": told}
    try:
        record.update(check_study(optuna, url, study_name, told))
    except Exception as exc:  # noqa: BLE001 - reported
        record["problems"] = "cannot read the study back: " + error_kind(exc)
    record["verified"] = not record.get("problems")
    return record


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", default="1,4,8")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--storage-url", default=None)
    args = ap.parse_args()
    try:
        counts = [int(w) for w in args.workers.replace(",", " ").split()]
    except ValueError:
        ap.error(f"bad --workers '{args.workers}'")
    if not counts or min(counts) < 1 or args.seconds <= 0 or args.warmup < 0:
        ap.error("worker counts and --seconds must be positive, --warmup not negative")
    try:
        import optuna
    except ImportError as e:
        print(f"peers_store.py: cannot import optuna ({e})", file=sys.stderr)
        return 77
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    made_dir = args.dir is None and args.storage_url is None
    directory = tempfile.mkdtemp(prefix="peers-store.") if made_dir else args.dir
    status = 0
    try:
        for w in counts:
            name = f"peers-store-{w}w-{os.getpid()}-{time.time_ns()}"
            if args.storage_url:
                url = args.storage_url
            else:
                path = os.path.join(os.path.abspath(directory), f"optuna-{w}w-{os.getpid()}.db")
                for suffix in ("", "-journal", "-wal", "-shm"):
                    if os.path.exists(path + suffix):
                        os.remove(path + suffix)
                url = "sqlite:///" + path
            print(f"peer store: optuna {optuna.__version__}, {w} worker{'s' * (w > 1)} ...",
                  file=sys.stderr, flush=True)
            try:
                record = run(optuna, url, name, w, args.seconds, args.warmup, args.seed)
            except Exception as exc:  # noqa: BLE001 - one worker count failing is reported
                traceback.print_exc()
                record = {"kind": "store", "source": "optuna-" + optuna.__version__,
                          "backend": url.split(":", 1)[0], "workers": w, "failed": True,
                          "reason": error_kind(exc), "verified": False}
            if record.get("failed"):
                status = 1
            print(json.dumps(record), flush=True)
    finally:
        if made_dir:
            shutil.rmtree(directory, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
