#!/usr/bin/env python3
"""train.py: the training program of the sweeps in examples/sweeps, written the way a
Weights & Biases sweep's script is written, in plain Python 3 (standard library only).

It trains a small multi-layer perceptron, for real, on a synthetic two-class problem made
here with a fixed seed: two interleaved half-moons with noise, plus two features of pure noise
(so that dropout and weight decay have something to do); 300 training points and 100
validation points, standardised with the training part's mean and deviation. After every epoch
it prints one JSON line on stdout, flushed at once so that caviar (or W&B) reads it as it comes:

    {"epoch": 3, "loss": 0.52, "val_loss": 0.41, "val_accuracy": 0.87}

loss is the mean training loss of the epoch (dropout on), val_loss and val_accuracy are measured
on the validation points afterwards (dropout off, batch normalisation with its running
statistics). Other output goes to stderr.

Arguments, in every form W&B's agent passes them (and so caviar's command macros):
    --lr=0.01 --optimizer=adam         ${args}, ${args_no_boolean_flags} (--batchnorm alone)
    lr=0.01 optimizer=adam             ${args_no_hyphens}
    '{"lr": 0.01, "optimizer": "adam"}'   ${args_json}: one argument, nested objects allowed
    /path/to/trial-3.json              ${args_json_file}: a file holding that object
Dotted names are nested parameters (--optimizer.lr=0.001 is {"optimizer": {"lr": 0.001}}).
A name or value it does not know is an error: a message on stderr and exit status 2, so a
typo in a sweep fails its first trial loudly instead of tuning nothing.

Hyperparameters (another accepted name in brackets; defaults after the equals sign):
    lr=0.01             learning rate [learning_rate, optimizer.lr]
    epochs=10           passes over the training set
    batch_size=32       mini-batch size
    optimizer=sgd       sgd (with momentum when --momentum is given, as PyTorch's SGD),
                        momentum (sgd with momentum 0.9 unless --momentum says otherwise),
                        rmsprop, adam [optimizer.name]
    momentum=0          heavy-ball momentum of sgd and rmsprop (0.9 for optimizer=momentum);
                        adam has beta1 instead and ignores it
    beta1=0.9           Adam's first-moment decay [optimizer.betas.beta1]; rmsprop ignores it
    beta2               Adam's second-moment decay, default 0.999; rmsprop's decay of its
                        squared-gradient average, default 0.99 [optimizer.betas.beta2]
    weight_decay=0      L2 penalty on the weights (not the biases), added to the gradient
    dropout=0           probability of dropping a hidden unit while training (inverted dropout)
    layers=1            hidden layers, each of hidden_units units; 0 is logistic regression
                        [n_layers]
    hidden_units=32     units of each hidden layer [width, units]
    hidden              the sizes of the hidden layers as a list, [64, 32] or 64,32; instead
                        of layers and hidden_units [model.hidden]
    activation=relu     relu, tanh or sigmoid
    batchnorm=false     batch normalisation before each hidden activation [model.batchnorm]
    seed=0              the initial weights, the shuffling and the dropout masks (the data
                        set is always the same, so that trials compare fairly)

Accepted and ignored: the parameters of distributions.yaml (a_constant, a_categorical, ...,
a_beta), which shows W&B's distributions rather than a model and has names that mean nothing
to a network.

Exit status: 0 when training ends, 1 when it diverges (a non-finite loss), 2 for bad arguments.
"""
import difflib
import json
import math
import random
import sys
from itertools import repeat
from operator import add, mul

PROG = "train.py"
DATA_SEED = 20240601  # the data set never changes with --seed
N_TRAIN, N_VAL = 300, 100

# ---- arguments ----------------------------------------------------------------------------------

OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
ACTIVATIONS = ("relu", "tanh", "sigmoid")

# Other names of the hyperparameters: W&B sweeps name them in many ways, and nested sweeps
# (wandb-nested.yaml) give dotted names.
ALIASES = {
    "learning_rate": "lr",
    "optimizer.lr": "lr",
    "optimizer.name": "optimizer",
    "optimizer.betas.beta1": "beta1",
    "optimizer.betas.beta2": "beta2",
    "n_layers": "layers",
    "width": "hidden_units",
    "units": "hidden_units",
    "model.hidden": "hidden",
    "model.batchnorm": "batchnorm",
}

# distributions.yaml's parameters: accepted so that its sweep runs, and not used.
IGNORED = {
    "a_constant", "a_categorical", "a_weighted", "an_int", "a_uniform", "a_q_uniform",
    "a_log_uniform", "a_log_uniform_values", "a_q_log_uniform", "a_q_log_uniform_values",
    "an_inv_log_uniform", "an_inv_log_uniform_values", "a_normal", "a_q_normal",
    "a_log_normal", "a_q_log_normal", "a_beta",
}


class UsageError(Exception):
    pass


def to_float(name, v, lo=None, hi=None, lo_open=False, hi_open=False):
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise UsageError("--%s: expected a number, got '%s'" % (name, v)) from None
    if isinstance(v, bool) or not math.isfinite(x):
        raise UsageError("--%s: expected a finite number, got '%s'" % (name, v))
    if lo is not None and (x < lo or (lo_open and x == lo)):
        raise UsageError("--%s: %s must be %s %g" % (name, v, ">" if lo_open else ">=", lo))
    if hi is not None and (x > hi or (hi_open and x == hi)):
        raise UsageError("--%s: %s must be %s %g" % (name, v, "<" if hi_open else "<=", hi))
    return x


def to_int(name, v, lo):
    x = to_float(name, v)
    if x != int(x):
        raise UsageError("--%s: expected an integer, got '%s'" % (name, v))
    if x < lo:
        raise UsageError("--%s: %s must be >= %d" % (name, v, lo))
    return int(x)


def to_bool(name, v):
    if isinstance(v, bool):
        return v
    text = str(v).lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise UsageError("--%s: expected True or False, got '%s'" % (name, v))


def to_word(name, v, words):
    if str(v) not in words:
        raise UsageError("--%s: unknown value '%s'; expected one of: %s" %
                         (name, v, ", ".join(words)))
    return str(v)


def to_sizes(name, v):
    """[64, 32] (a JSON list, or its text as W&B's flags carry it) or 64,32."""
    if isinstance(v, str):
        text = v.strip()
        if text.startswith("["):
            try:
                v = json.loads(text)
            except ValueError:
                raise UsageError("--%s: expected a list of sizes, got '%s'" % (name, v)) from None
        else:
            v = [s for s in text.split(",") if s.strip()]
    if not isinstance(v, list):
        v = [v]
    return [to_int(name, x, 1) for x in v]


# Each hyperparameter's check: it converts the value as given (text from flags, any JSON value
# from ${args_json}) or raises UsageError, naming the argument as written.
PARAMS = {
    "lr": lambda n, v: to_float(n, v, 0, lo_open=True),
    "epochs": lambda n, v: to_int(n, v, 1),
    "batch_size": lambda n, v: to_int(n, v, 1),
    "optimizer": lambda n, v: to_word(n, v, OPTIMIZERS),
    "momentum": lambda n, v: to_float(n, v, 0, 1, hi_open=True),
    "beta1": lambda n, v: to_float(n, v, 0, 1, hi_open=True),
    "beta2": lambda n, v: to_float(n, v, 0, 1, hi_open=True),
    "weight_decay": lambda n, v: to_float(n, v, 0),
    "dropout": lambda n, v: to_float(n, v, 0, 1, hi_open=True),
    "layers": lambda n, v: to_int(n, v, 0),
    "hidden_units": lambda n, v: to_int(n, v, 1),
    "hidden": to_sizes,
    "activation": lambda n, v: to_word(n, v, ACTIVATIONS),
    "batchnorm": to_bool,
    "seed": lambda n, v: to_int(n, v, 0),
}
# None: set from the other hyperparameters (parse_args).
DEFAULTS = {
    "lr": 0.01, "epochs": 10, "batch_size": 32, "optimizer": "sgd", "momentum": None,
    "beta1": 0.9, "beta2": None, "weight_decay": 0.0, "dropout": 0.0, "layers": 1,
    "hidden_units": 32, "hidden": None, "activation": "relu", "batchnorm": False, "seed": 0,
}


def flatten(obj, prefix, out):
    """A JSON object's members into (dotted name, value) pairs; a nested object is a nested
    parameter, as W&B's ${args_json} writes them."""
    if not isinstance(obj, dict):
        raise UsageError("expected a JSON object of parameters, got %s" % json.dumps(obj))
    for k, v in obj.items():
        if isinstance(v, dict):
            flatten(v, prefix + k + ".", out)
        else:
            out.append((prefix + k, v))


def split_args(argv):
    """The (name, value) pairs of the command line, in every form W&B passes them."""
    pairs = []
    for a in argv:
        if a.lstrip().startswith("{"):
            try:
                obj = json.loads(a)
            except ValueError as e:
                raise UsageError("cannot read the JSON argument '%s': %s" % (a, e)) from None
            flatten(obj, "", pairs)
        elif a.endswith(".json") and "=" not in a and not a.startswith("-"):
            try:
                with open(a, encoding="utf-8") as f:
                    obj = json.load(f)
            except (OSError, ValueError) as e:
                raise UsageError("cannot read parameters from '%s': %s" % (a, e)) from None
            flatten(obj, "", pairs)
        elif "=" in a:
            name, value = a.split("=", 1)
            pairs.append((name[2:] if name.startswith("--") else name, value))
        elif a.startswith("--") and len(a) > 2:
            pairs.append((a[2:], True))  # ${args_no_boolean_flags}: --batchnorm alone is true
        else:
            raise UsageError("unknown argument '%s'; expected --name=value" % a)
    return pairs


def parse_args(argv):
    given = {}
    for name, value in split_args(argv):
        if name in IGNORED:
            continue
        key = ALIASES.get(name, name)
        if key not in PARAMS:
            known = sorted(set(PARAMS) | set(ALIASES))
            close = difflib.get_close_matches(name, known, n=1)
            raise UsageError("unknown argument '--%s'; %s" % (name, "did you mean '--%s'?" %
                             close[0] if close else "expected one of: --" + ", --".join(known)))
        if key in given:
            raise UsageError("--%s is given twice (as '%s' and '%s')" %
                             (key, given[key][0], name))
        given[key] = (name, PARAMS[key](name, value))
    hp = dict(DEFAULTS)
    hp.update({k: v for k, (_, v) in given.items()})
    if hp["momentum"] is None:
        hp["momentum"] = 0.9 if hp["optimizer"] == "momentum" else 0.0
    if hp["beta2"] is None:
        hp["beta2"] = 0.99 if hp["optimizer"] == "rmsprop" else 0.999
    if hp["hidden"] is None:
        hp["hidden"] = [hp["hidden_units"]] * hp["layers"]
    elif "layers" in given or "hidden_units" in given:
        raise UsageError("--hidden gives the layers; --layers and --hidden_units go without it")
    return hp


# ---- data ---------------------------------------------------------------------------------------

def make_data():
    """Two interleaved half-moons (label 0: the upper one, 1: the lower one) with Gaussian
    noise 0.25, and two features of pure noise; returns (x_train, y_train, x_val, y_val) with
    x standardised by the training part. Always the same points."""
    rng = random.Random(DATA_SEED)
    xs, ys = [], []
    for i in range(N_TRAIN + N_VAL):
        label = i % 2
        t = math.pi * rng.random()
        if label == 0:
            a, b = math.cos(t), math.sin(t)
        else:
            a, b = 1 - math.cos(t), 0.5 - math.sin(t)
        xs.append([a + rng.gauss(0, 0.25), b + rng.gauss(0, 0.25),
                   rng.gauss(0, 1), rng.gauss(0, 1)])
        ys.append(label)
    x_train, x_val = xs[:N_TRAIN], xs[N_TRAIN:]
    cols = list(zip(*x_train))
    mean = [sum(c) / len(c) for c in cols]
    std = [math.sqrt(sum((v - m) ** 2 for v in c) / len(c)) or 1.0 for c, m in zip(cols, mean)]

    def scale(rows):
        return [[(v - m) / s for v, m, s in zip(r, mean, std)] for r in rows]

    return scale(x_train), ys[:N_TRAIN], scale(x_val), ys[N_TRAIN:]


# ---- the network --------------------------------------------------------------------------------
#
# Matrices are lists of rows. A dense layer has w (out, in) and b (out); a batch of activations
# h is (batch, in), and the layer computes z = h w^T + b, (batch, out). Hidden layers then apply
# batch normalisation (optional), the activation and dropout (while training); the output
# layer has one unit, the logit of class 1, trained with the logistic loss.

def matmul(a, b):
    """a (n, k) times b (k, m), as lists of rows, by whichever way costs less in Python: dot
    products of a's rows with b's columns (about 25 ns a term plus 150 ns a call), or each row
    of the result as a combination of b's rows (about 50 ns a term plus 150 ns a row of b;
    zeros in a, from ReLU or dropout, cost nothing)."""
    if not a:
        return []
    k, m = len(b), len(b[0])
    if m * (150 + 25 * k) <= k * (150 + 50 * m):
        cols = list(zip(*b))
        return [[sum(map(mul, row, col)) for col in cols] for row in a]
    out = []
    for row in a:
        acc = [0.0] * m
        for x, brow in zip(row, b):
            if x:
                acc = list(map(add, acc, map(mul, brow, repeat(x))))
        out.append(acc)
    return out


def transpose(a):
    return [list(c) for c in zip(*a)]


ACT = {
    "relu": (lambda z: z if z > 0 else 0.0, lambda z, y: 1.0 if z > 0 else 0.0),
    "tanh": (math.tanh, lambda z, y: 1.0 - y * y),
    "sigmoid": (lambda z: 1.0 / (1.0 + math.exp(-z)) if z >= 0 else
                math.exp(z) / (1.0 + math.exp(z)), lambda z, y: y * (1.0 - y)),
}


def logistic_loss(z, y):
    """-log p(y | logit z), computed without overflow."""
    return max(z, 0.0) - z * y + math.log1p(math.exp(-abs(z)))


def sigmoid(z):
    return ACT["sigmoid"][0](z)


class Net:
    def __init__(self, n_in, hp, rng):
        self.hp = hp
        self.rng = rng
        self.act, self.dact = ACT[hp["activation"]]
        sizes = [n_in] + hp["hidden"] + [1]
        self.w, self.b = [], []
        self.gamma, self.beta, self.run_mean, self.run_var = [], [], [], []
        for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
            last = i == len(sizes) - 2
            # He for ReLU, Xavier (Glorot) otherwise and for the output layer.
            gain = 2.0 if hp["activation"] == "relu" and not last else 1.0
            sd = math.sqrt(gain / fan_in)
            self.w.append([[rng.gauss(0, sd) for _ in range(fan_in)] for _ in range(fan_out)])
            self.b.append([0.0] * fan_out)
            if not last and hp["batchnorm"]:
                self.gamma.append([1.0] * fan_out)
                self.beta.append([0.0] * fan_out)
                self.run_mean.append([0.0] * fan_out)
                self.run_var.append([1.0] * fan_out)

    def params(self):
        """Every parameter vector, paired with whether weight decay applies to it."""
        out = [(row, True) for w in self.w for row in w] + [(b, False) for b in self.b]
        out += [(g, False) for g in self.gamma] + [(b, False) for b in self.beta]
        return out

    def forward(self, x, train):
        """The logits of the batch x (batch, n_in), and what backward needs."""
        h, cache = x, []
        n_hidden = len(self.w) - 1
        bn = self.hp["batchnorm"]
        for i in range(n_hidden):
            z = [list(map(add, r, self.b[i])) for r in matmul(h, transpose(self.w[i]))]
            norm = None
            if bn:
                z, norm = self.batchnorm(i, z, train)
            a = [[self.act(v) for v in r] for r in z]
            mask = None
            p = self.hp["dropout"]
            if train and p > 0:
                keep, rnd = 1.0 / (1.0 - p), self.rng.random
                mask = [[keep if rnd() >= p else 0.0 for _ in r] for r in a]
                out = [list(map(mul, r, m)) for r, m in zip(a, mask)]
            else:
                out = a
            cache.append((h, z, a, mask, norm))
            h = out
        w, b = self.w[-1][0], self.b[-1][0]
        logits = [sum(map(mul, r, w)) + b for r in h]
        cache.append((h,))
        return logits, cache

    def batchnorm(self, i, z, train):
        """Normalises each unit of z (batch, units) over the batch (training) or with the
        running statistics (evaluation), then scales by gamma and shifts by beta."""
        eps, cols = 1e-5, list(zip(*z))
        if train:
            n = len(z)
            mean = [sum(c) / n for c in cols]
            var = [sum((v - m) ** 2 for v in c) / n for c, m in zip(cols, mean)]
            rm, rv = self.run_mean[i], self.run_var[i]
            for j in range(len(cols)):
                rm[j] = 0.9 * rm[j] + 0.1 * mean[j]
                rv[j] = 0.9 * rv[j] + 0.1 * var[j]
        else:
            mean, var = self.run_mean[i], self.run_var[i]
        inv = [1.0 / math.sqrt(v + eps) for v in var]
        xhat = [[(v - m) * s for v, m, s in zip(r, mean, inv)] for r in z]
        g, be = self.gamma[i], self.beta[i]
        out = [[x * gj + bj for x, gj, bj in zip(r, g, be)] for r in xhat]
        return out, (xhat, inv)

    def backward(self, cache, dlogits):
        """The gradients of the mean loss, in the order of params(); dlogits (batch) is the
        derivative of each example's loss by its logit, already divided by the batch size."""
        n_hidden = len(self.w) - 1
        dw, db = [None] * len(self.w), [None] * len(self.b)
        dgamma, dbeta = [None] * len(self.gamma), [None] * len(self.beta)
        (h,) = cache[-1]
        dw[-1] = [[sum(map(mul, col, dlogits)) for col in zip(*h)]]
        db[-1] = [sum(dlogits)]
        w_out = self.w[-1][0]
        dh = [[d * wv for wv in w_out] for d in dlogits]  # (batch, units of the last hidden)
        for i in range(n_hidden - 1, -1, -1):
            h_in, z, a, mask, norm = cache[i]
            if mask is not None:
                dh = [list(map(mul, r, m)) for r, m in zip(dh, mask)]
            dz = [[d * self.dact(zv, av) for d, zv, av in zip(dr, zr, ar)]
                  for dr, zr, ar in zip(dh, z, a)]
            if norm is not None:
                dz, dgamma[i], dbeta[i] = self.batchnorm_backward(i, dz, norm)
            dzt = transpose(dz)  # (units, batch)
            dw[i] = matmul(dzt, h_in)
            db[i] = [sum(c) for c in dzt]
            if i > 0:
                dh = matmul(dz, self.w[i])
        grads = [row for g in dw for row in g] + db + dgamma + dbeta
        return grads

    def batchnorm_backward(self, i, dy, norm):
        """Through y = gamma xhat + beta, xhat = (z - mean) / sqrt(var + eps), with the batch's
        own mean and variance: dz = inv / n (n dxhat - sum dxhat - xhat sum(dxhat xhat))."""
        xhat, inv = norm
        n, g = len(dy), self.gamma[i]
        dyt, xt = list(zip(*dy)), list(zip(*xhat))
        dgamma = [sum(map(mul, d, x)) for d, x in zip(dyt, xt)]
        dbeta = [sum(d) for d in dyt]
        dzt = []
        for j, (d, x) in enumerate(zip(dyt, xt)):
            gj, s = g[j], inv[j] / n
            sum_dx, sum_dxx = gj * dbeta[j], gj * dgamma[j]
            dzt.append([s * (n * gj * dv - sum_dx - xv * sum_dxx) for dv, xv in zip(d, x)])
        return transpose(dzt), dgamma, dbeta


class Optimizer:
    """sgd and momentum: buf = momentum buf + g, p -= lr buf (PyTorch's SGD).
    rmsprop: v = beta2 v + (1 - beta2) g^2, step = g / (sqrt(v) + eps), then momentum as sgd.
    adam: m = beta1 m + (1 - beta1) g, v = beta2 v + (1 - beta2) g^2, bias-corrected.
    Weight decay adds weight_decay p to the gradient of each weight."""

    def __init__(self, params, hp):
        self.params = params
        self.hp = hp
        self.t = 0
        self.m = [[0.0] * len(p) for p, _ in params]
        self.v = [[0.0] * len(p) for p, _ in params]

    def step(self, grads):
        hp = self.hp
        lr, kind, wd = hp["lr"], hp["optimizer"], hp["weight_decay"]
        mom, b1, b2, eps = hp["momentum"], hp["beta1"], hp["beta2"], 1e-8
        self.t += 1
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        sqrt = math.sqrt
        for (p, decays), g, m, v in zip(self.params, grads, self.m, self.v):
            if decays and wd:
                g = [gj + wd * pj for gj, pj in zip(g, p)]
            if kind == "adam":
                m[:] = [b1 * mj + (1 - b1) * gj for mj, gj in zip(m, g)]
                v[:] = [b2 * vj + (1 - b2) * gj * gj for vj, gj in zip(v, g)]
                p[:] = [pj - lr * (mj / c1) / (sqrt(vj / c2) + eps)
                        for pj, mj, vj in zip(p, m, v)]
                continue
            if kind == "rmsprop":
                v[:] = [b2 * vj + (1 - b2) * gj * gj for vj, gj in zip(v, g)]
                g = [gj / (sqrt(vj) + eps) for gj, vj in zip(g, v)]
            if mom:
                m[:] = [mom * mj + gj for mj, gj in zip(m, g)]
                g = m
            p[:] = [pj - lr * gj for pj, gj in zip(p, g)]


def evaluate(net, x, y):
    logits, _ = net.forward(x, train=False)
    loss = sum(logistic_loss(z, t) for z, t in zip(logits, y)) / len(y)
    correct = sum((z > 0) == (t == 1) for z, t in zip(logits, y))
    return loss, correct / len(y)


def train(hp):
    x_train, y_train, x_val, y_val = make_data()
    rng = random.Random(hp["seed"])
    net = Net(len(x_train[0]), hp, rng)
    opt = Optimizer(net.params(), hp)
    order = list(range(len(x_train)))
    bs = hp["batch_size"]
    for epoch in range(1, hp["epochs"] + 1):
        rng.shuffle(order)
        total = 0.0
        for start in range(0, len(order), bs):
            idx = order[start:start + bs]
            xb, yb = [x_train[i] for i in idx], [y_train[i] for i in idx]
            logits, cache = net.forward(xb, train=True)
            total += sum(logistic_loss(z, t) for z, t in zip(logits, yb))
            n = len(idx)
            dlogits = [(sigmoid(z) - t) / n for z, t in zip(logits, yb)]
            opt.step(net.backward(cache, dlogits))
        loss = total / len(order)
        if not math.isfinite(loss):
            print("%s: diverged at epoch %d (training loss %s); hint: a smaller learning "
                  "rate" % (PROG, epoch, loss), file=sys.stderr)
            return 1
        val_loss, val_acc = evaluate(net, x_val, y_val)
        print(json.dumps({"epoch": epoch, "loss": round(loss, 6), "val_loss": round(val_loss, 6),
                          "val_accuracy": round(val_acc, 4)}), flush=True)
    return 0


def main(argv):
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__.strip())
        return 0
    try:
        hp = parse_args(argv)
    except UsageError as e:
        print("%s: %s" % (PROG, e), file=sys.stderr)
        return 2
    shown = {k: hp[k] for k in ("lr", "epochs", "batch_size", "optimizer", "hidden",
                                "activation", "dropout", "seed")}
    print("%s: training %s" % (PROG, json.dumps(shown)), file=sys.stderr, flush=True)
    try:
        return train(hp)
    except OverflowError:
        print("%s: diverged (a number overflowed); hint: a smaller learning rate" % PROG,
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
