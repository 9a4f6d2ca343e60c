"""Training settings shared by the public API and both backends.

Optimizers (configuration only: their state lives in a backend's core, their
names and buffer counts in ``_registry``), the shuffling PRNG, learning-rate
schedules and the input scaler.  The PRNG and every optimizer formula have
twins in ``csrc/plainnet.c`` that perform the same operations in the same
order (the order contract in ``_contract``).
"""

from array import array
from math import isfinite, sqrt

from . import _registry
from ._data import as_float, as_int

__all__ = [
    "OPTIMIZERS",
    "Optimizer",
    "SGD",
    "Momentum",
    "Adam",
    "make_optimizer",
    "seed_rng",
    "next_random",
    "shuffled",
    "learning_rate",
    "learning_rates",
    "LearningRates",
    "Scaler",
]

#: Optimizer names (the registry's).
OPTIMIZERS = tuple(_registry.OPTIMIZERS)
_MASK = (1 << 64) - 1


class Optimizer:
    """Base class of the optimizer settings.  Use :class:`SGD`, :class:`Momentum` or :class:`Adam`."""

    name = None
    n_buffers = 0
    _fields = ("weight_decay",)

    def __init__(self, weight_decay=0.0):
        self.weight_decay = _non_negative(weight_decay, "weight_decay")

    def to_dict(self):
        d = {"name": self.name}
        for f in self._fields:
            d[f] = getattr(self, f)
        return d

    def __eq__(self, other):
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    def __hash__(self):
        return hash(tuple(sorted(self.to_dict().items())))

    def __repr__(self):
        args = ", ".join("%s=%r" % (f, getattr(self, f)) for f in self._fields)
        return "%s(%s)" % (type(self).__name__, args)


class SGD(Optimizer):
    """Plain stochastic gradient descent: p -= lr * g (with optional L2 weight decay)."""

    name = "sgd"


class Momentum(Optimizer):
    """SGD with momentum, as PyTorch's SGD: buf = momentum*buf + g; p -= lr*buf.

    With ``nesterov=True`` the step is g + momentum*buf instead of buf.
    """

    name = "momentum"
    n_buffers = _registry.OPTIMIZERS[name].n_buffers
    _fields = ("momentum", "nesterov", "weight_decay")

    def __init__(self, momentum=0.9, nesterov=False, weight_decay=0.0):
        super().__init__(weight_decay)
        self.momentum = as_float(momentum, "momentum")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError("momentum must be in [0, 1), got %r" % self.momentum)
        if not isinstance(nesterov, bool):
            raise TypeError("nesterov must be True or False, got %r" % (nesterov,))
        self.nesterov = nesterov


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), with bias correction, as PyTorch computes it."""

    name = "adam"
    n_buffers = _registry.OPTIMIZERS[name].n_buffers
    _fields = ("beta1", "beta2", "epsilon", "weight_decay")

    def __init__(self, beta1=0.9, beta2=0.999, epsilon=1e-8, weight_decay=0.0):
        super().__init__(weight_decay)
        self.beta1 = _unit(beta1, "beta1")
        self.beta2 = _unit(beta2, "beta2")
        self.epsilon = as_float(epsilon, "epsilon")
        if self.epsilon <= 0.0:
            raise ValueError("epsilon must be positive, got %r" % self.epsilon)


def _non_negative(v, what):
    v = as_float(v, what)
    if v < 0.0:
        raise ValueError("%s must be >= 0, got %r" % (what, v))
    return v


def _unit(v, what):
    v = as_float(v, what)
    if not 0.0 <= v < 1.0:
        raise ValueError("%s must be in [0, 1), got %r" % (what, v))
    return v


_BY_NAME = {"sgd": SGD, "momentum": Momentum, "adam": Adam}
# One shared instance per name: optimizers named by a string have the default
# settings, and nothing changes an Optimizer after it is made.
_DEFAULT_OPTIMIZERS = {}


def make_optimizer(spec):
    """An :class:`Optimizer` from a name ("sgd", "momentum", "adam"), an instance, or a dict."""
    if isinstance(spec, Optimizer):
        return spec
    if isinstance(spec, str):
        cls = _BY_NAME.get(spec)
        if cls is None:
            raise ValueError("unknown optimizer %r: choose one of %s" % (spec, ", ".join(OPTIMIZERS)))
        return _DEFAULT_OPTIMIZERS.get(spec) or _DEFAULT_OPTIMIZERS.setdefault(spec, cls())
    if isinstance(spec, dict):
        cls = _BY_NAME.get(spec.get("name"))
        if cls is None:
            raise ValueError("unknown optimizer %r: choose one of %s" % (spec.get("name"), ", ".join(OPTIMIZERS)))
        kwargs = {k: v for k, v in spec.items() if k != "name"}
        unknown = set(kwargs) - set(cls._fields)
        if unknown:
            raise ValueError("unknown setting(s) for optimizer %r: %s" % (cls.name, ", ".join(sorted(unknown))))
        return cls(**kwargs)
    raise TypeError("optimizer must be a name such as 'adam' or an Optimizer, not %r" % (spec,))


class OwnCallback:
    """A training callback of plainnet's own, which changes none of the
    caller's arrays (the scikit-learn estimators' convergence rule, their
    validation scores and verbose lines).  ``Network.train`` reads float64
    arrays in place for it, as without a callback: the copy it takes before
    running a caller's callback guards against that callback, not this one."""

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, epoch, loss):
        return self.fn(epoch, loss)


# -- the shuffling PRNG: splitmix64 ------------------------------------------

def seed_rng(seed):
    """The initial 64-bit PRNG state for a network seed (any int)."""
    return seed & _MASK


def next_random(state):
    """splitmix64 (Steele, Lea and Flood, 2014): returns (new state, 64-bit output)."""
    state = (state + 0x9E3779B97F4A7C15) & _MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return state, z ^ (z >> 31)


def shuffled(n, state):
    """(order, new state): 0..n-1 shuffled by Fisher-Yates, from the last index down,
    each swap partner drawn as next_random() % (i + 1)."""
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        state, r = next_random(state)
        j = r % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order, state


# -- learning-rate schedules -----------------------------------------------

def check_schedule(schedule):
    """Validate a schedule: None, ("step", every, gamma) or ("exponential", gamma)."""
    if schedule is None:
        return None
    if isinstance(schedule, dict):
        kind = schedule.get("type")
        if kind == "step":
            schedule = ("step", schedule.get("every"), schedule.get("gamma"))
        elif kind == "exponential":
            schedule = ("exponential", schedule.get("gamma"))
        else:
            schedule = (kind,)
    if not isinstance(schedule, (tuple, list)) or not schedule:
        raise TypeError("lr_schedule must be ('step', every, gamma) or ('exponential', gamma), not %r" % (schedule,))
    kind = schedule[0]
    if kind == "step" and len(schedule) == 3:
        every = as_int(schedule[1], "lr_schedule step 'every'", minimum=1)
        return ("step", every, _positive(schedule[2], "lr_schedule gamma"))
    if kind == "exponential" and len(schedule) == 2:
        return ("exponential", _positive(schedule[1], "lr_schedule gamma"))
    raise ValueError("lr_schedule must be ('step', every, gamma) or ('exponential', gamma), not %r" % (schedule,))


def _positive(v, what):
    v = as_float(v, what)
    if v <= 0.0:
        raise ValueError("%s must be positive, got %r" % (what, v))
    return v


def learning_rate(lr, schedule, epoch):
    """The learning rate of lifetime epoch ``epoch`` (inf where gamma ** k overflows).

    Epochs are counted over the network's whole life, so a schedule continues
    where it stopped when training resumes (also after save and load).
    """
    if schedule is None:
        return lr
    k = epoch // schedule[1] if schedule[0] == "step" else epoch
    try:
        return lr * schedule[-1] ** k
    except OverflowError:
        return float("inf")


def learning_rates(lr, schedule, first_epoch, epochs):
    """The learning rate of each epoch first_epoch .. first_epoch + epochs - 1, as a list."""
    return [learning_rate(lr, schedule, first_epoch + e) for e in range(epochs)]


class LearningRates:
    """The learning rates of one call's epochs, computed when asked for: a call
    of 10**9 epochs allocates nothing for them up front.  ``rates[e]`` is the
    rate of the call's epoch e; a slice gives a list."""

    __slots__ = ("lr", "schedule", "first_epoch", "epochs")

    def __init__(self, lr, schedule, first_epoch, epochs):
        self.lr = lr
        self.schedule = schedule
        self.first_epoch = first_epoch
        self.epochs = epochs

    def __getitem__(self, e):
        if isinstance(e, slice):
            epochs = range(*e.indices(self.epochs))
            if self.schedule is None:  # one rate: 1000 epochs in 2 us, not 150
                return [self.lr] * len(epochs)
            return [self[k] for k in epochs]
        if not 0 <= e < self.epochs:
            raise IndexError(e)
        return learning_rate(self.lr, self.schedule, self.first_epoch + e)

    def doubles(self, first, count):
        """The rates of epochs first .. first + count - 1 as an array('d'), which
        the C core reads (one rate: repeated in C, 0.4 us for 1000, not 14)."""
        if self.schedule is None and 0 <= first and first + count <= self.epochs:
            return array("d", [self.lr]) * count
        return array("d", self[first:first + count])

    def check(self):
        """ValueError, before anything trains, if some epoch's rate is not finite
        and positive.  A schedule is monotonic, so its ends are its extremes."""
        for e in (0, self.epochs - 1):
            rate = self[e]
            if not (rate > 0.0 and rate != float("inf")):
                raise ValueError(
                    "lr_schedule %r gives learning rate %r in epoch %d of this call (epoch %d of "
                    "the network's life): choose a gamma nearer 1 or fewer epochs"
                    % (self.schedule, rate, e + 1, self.first_epoch + e + 1))


# -- input scaling ------------------------------------------------------------

class Scaler:
    """Per-feature standardisation: x' = (x - mean) / scale.

    Learned from training data by :meth:`fit` (scale is the population
    standard deviation, 1.0 for a constant feature) and saved in the model
    file, so a loaded network takes raw inputs.

    A scale must be at least ``MIN_SCALE`` (1e-290): any input within 1e18 of
    the mean then scales to a finite number, where a subnormal scale would
    turn 1.0 into infinity.  An input whose scaled value is not finite anyway
    raises ValueError naming its column, so no NaN ever comes out silently.
    """

    __slots__ = ("mean", "scale")

    #: The smallest scale accepted (and fitted: a smaller spread counts as constant).
    MIN_SCALE = 1e-290

    def __init__(self, mean, scale):
        self.mean = [as_float(v, "scaler mean[%d]" % i) for i, v in enumerate(mean)]
        self.scale = [as_float(v, "scaler scale[%d]" % i) for i, v in enumerate(scale)]
        if len(self.mean) != len(self.scale) or not self.mean:
            raise ValueError("scaler mean and scale must be non-empty and of one length")
        if any(s <= 0.0 for s in self.scale):
            raise ValueError("scaler scale values must be positive")
        for i, s in enumerate(self.scale):
            if s < self.MIN_SCALE:
                raise ValueError(
                    "scaler scale[%d] is %r, below the smallest scale allowed (%r): "
                    "ordinary inputs would scale to infinity" % (i, s, self.MIN_SCALE))

    @classmethod
    def fit(cls, rows):
        """Learn mean and scale from validated :class:`~plainnet._data.Rows`."""
        data = rows.lists
        n = float(rows.n)
        mean, scale = [], []
        for k in range(rows.width):
            total = 0.0
            for row in data:
                total += row[k]
            m = total / n
            sq = 0.0
            for row in data:
                d = row[k] - m
                sq += d * d
            s = sqrt(sq / n)
            mean.append(m)
            scale.append(s if s >= cls.MIN_SCALE and isfinite(s) else 1.0)
        return cls(mean, scale)

    def transform_row(self, x):
        return self._scaled(x, None)

    def transform(self, rows):
        return [self._scaled(x, r) for r, x in enumerate(rows)]

    def _scaled(self, x, row):
        out = [(v - m) / s for v, m, s in zip(x, self.mean, self.scale)]
        if not isfinite(sum(out)):  # a sum of finite values may overflow: then look closer
            for k, v in enumerate(out):
                if not isfinite(v):
                    where = "x[%d] =" % k if row is None else "row %d, column %d:" % (row, k)
                    raise ValueError(
                        "%s %r scales to %r (scaler mean %r, scale %r): too far from the "
                        "data the scaler was fitted on" % (where, x[k], v, self.mean[k], self.scale[k]))
        return out

    def to_dict(self):
        return {"mean": list(self.mean), "scale": list(self.scale)}

    def __repr__(self):
        return "Scaler(mean=%r, scale=%r)" % (self.mean, self.scale)
