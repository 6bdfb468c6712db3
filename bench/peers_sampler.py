#!/usr/bin/python3
"""Search quality of Optuna's samplers, for bench_sampler's side-by-side table.

Minimises Branin (2-D) and Hartmann-6 (6-D) with Optuna's TPE, random and (unless left out)
multivariate TPE, seeds 0..S-1, in-memory storage, and prints one JSON line per sampler and
function in the format of bench_sampler's "quality" records: for every seed, the best value
found after each budget of trials. bench_sampler --summary computes the median and quartiles
of these and of caviar's figures the same way.

usage: peers_sampler.py [--seeds 20] [--budgets 50,100] [--samplers tpe,random,tpe-multivariate]
                        [--functions branin,hartmann6]
Exit status: 0 done, 77 Optuna cannot be imported, 2 usage.
"""
import argparse
import json
import math
import sys
import time
import warnings


def branin(x):
    # a (x2 - b x1^2 + c x1 - r)^2 + s (1 - t) cos x1 + s; minimum 0.397887
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    q = x[1] - b * x[0] ** 2 + c * x[0] - 6
    return q * q + 10 * (1 - t) * math.cos(x[0]) + 10


HARTMANN_ALPHA = (1.0, 1.2, 3.0, 3.2)
HARTMANN_A = ((10, 3, 17, 3.5, 1.7, 8),
              (0.05, 10, 17, 0.1, 8, 14),
              (3, 3.5, 1.7, 10, 17, 8),
              (17, 8, 0.05, 10, 0.1, 14))
HARTMANN_P = ((0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886),
              (0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991),
              (0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650),
              (0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381))


def hartmann6(x):
    # -sum_i alpha_i exp(-sum_j A_ij (x_j - P_ij)^2) on [0, 1]^6; minimum -3.32237
    total = 0.0
    for alpha, a_row, p_row in zip(HARTMANN_ALPHA, HARTMANN_A, HARTMANN_P):
        total += alpha * math.exp(-sum(a * (xj - p) ** 2 for a, xj, p in zip(a_row, x, p_row)))
    return -total


# name: (parameter names, bounds, function, global minimum); the same names and bounds as
# bench_sampler.c.
FUNCTIONS = {
    "branin": (("x1", "x2"), ((-5, 10), (0, 15)), branin, 0.397887),
    "hartmann6": (tuple(f"x{i}" for i in range(1, 7)), ((0, 1),) * 6, hartmann6, -3.32237),
}


def make_sampler(optuna, label, seed):
    if label == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if label == "tpe-multivariate":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True)
    if label == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"unknown sampler '{label}'")


def run(optuna, label, fname, seeds, budgets):
    names, bounds, f, f_min = FUNCTIONS[fname]
    best = {b: [] for b in budgets}
    start = time.perf_counter()
    for seed in range(seeds):
        study = optuna.create_study(sampler=make_sampler(optuna, label, seed))
        so_far = math.inf
        for n in range(1, budgets[-1] + 1):
            trial = study.ask()
            x = [trial.suggest_float(name, lo, hi) for name, (lo, hi) in zip(names, bounds)]
            value = f(x)
            study.tell(trial, value)
            so_far = min(so_far, value)
            if n in best:
                best[n].append(so_far)
    record = {"kind": "quality", "source": "optuna-" + optuna.__version__, "sampler": label,
              "function": fname, "available": True, "f_min": f_min, "seeds": seeds,
              "budgets": budgets}
    for b in budgets:
        record[f"best_{b}"] = [float(f"{v:.10g}") for v in best[b]]
    record["seconds"] = round(time.perf_counter() - start, 3)
    return record


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--budgets", default="50,100")
    ap.add_argument("--samplers", default="tpe,random,tpe-multivariate")
    ap.add_argument("--functions", default="branin,hartmann6")
    args = ap.parse_args()
    try:
        budgets = sorted({int(b) for b in args.budgets.split(",")})
    except ValueError:
        ap.error(f"bad --budgets '{args.budgets}'")
    functions = args.functions.split(",")
    for fname in functions:
        if fname not in FUNCTIONS:
            ap.error(f"unknown function '{fname}'")
    if args.seeds < 1 or budgets[0] < 1:
        ap.error("seeds and budgets must be positive")
    try:
        import optuna
    except ImportError as e:
        print(f"peers_sampler.py: cannot import optuna ({e})", file=sys.stderr)
        return 77
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    for label in args.samplers.split(","):
        for fname in functions:
            print(f"peer quality: optuna {label} on {fname} ...", file=sys.stderr, flush=True)
            print(json.dumps(run(optuna, label, fname, args.seeds, budgets)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
