"""R's default random number generator, so a seeded simulation gives the numbers R gives.

R (3.6.0 and later; ``RNGkind("Mersenne-Twister", "Inversion", "Rejection")``, the default)
draws a normal deviate as follows (R sources ``src/main/RNG.c`` and ``src/nmath/snorm.c``):

1. ``set.seed(s)`` scrambles the 32-bit seed with ``s = 69069 * s + 1`` (mod 2**32) fifty times,
   then fills the 625 words of the Mersenne-Twister state with the next 625 values of the same
   recurrence; the first word is the position and is reset to 624, so the other 624 are the key.
2. ``unif_rand()`` is MT19937's next 32-bit output times 2**-32 (0 is moved to 2**-33).
3. ``norm_rand()`` takes two uniforms, ``u = (floor(2**27 * u1) + u2) / 2**27``, and returns
   ``qnorm(u)``.
4. ``rnorm(n, mean, sd)`` recycles ``mean`` and ``sd`` over the n draws and returns
   ``mean + sd * norm_rand()``; where ``sd`` is 0 it returns ``mean`` without drawing.

MT19937 itself is numpy's (the same reference algorithm). The normal quantile is scipy's
``ndtri`` rather than R's AS 241 code; the two agree to within a few units in the last place.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ._common import FloatArray

_MASK32 = 0xFFFFFFFF
_TWO_POW_M32 = 2.3283064365386963e-10  # 2**-32, as R writes it
_I2_32M1 = 2.328306437080797e-10  # 1 / (2**32 - 1)
_BIG = 134217728.0  # 2**27


class RNormal:
    """A stream of R-compatible uniform and normal deviates, seeded as ``set.seed(seed)``."""

    def __init__(self, seed: int) -> None:
        """Seed the stream as R's ``set.seed(seed)`` does (default kinds)."""
        state = int(seed) & _MASK32
        for _ in range(50):
            state = (69069 * state + 1) & _MASK32
        words = np.empty(625, dtype=np.uint32)
        for index in range(625):
            state = (69069 * state + 1) & _MASK32
            words[index] = state
        self._bits = np.random.MT19937()
        self._bits.state = {
            "bit_generator": "MT19937",
            "state": {"key": words[1:], "pos": 624},
        }

    def runif(self, n: int) -> FloatArray:
        """Return n uniforms as R's ``runif(n)`` does."""
        raw = self._bits.random_raw(int(n)).astype(np.float64) * _TWO_POW_M32
        return np.where(raw <= 0.0, 0.5 * _I2_32M1, raw)

    def norm_rand(self, n: int) -> FloatArray:
        """Return n standard normal deviates as R's ``norm_rand()`` (Inversion) does."""
        pairs = self.runif(2 * int(n)).reshape(-1, 2)
        u = np.floor(_BIG * pairs[:, 0]) + pairs[:, 1]
        return special.ndtri(u / _BIG)

    def rnorm(self, mean: FloatArray, sd: FloatArray, n: int) -> FloatArray:
        """Return ``rnorm(n, mean, sd)`` with mean and sd recycled; sd of 0 draws nothing."""
        means = np.resize(np.asarray(mean, dtype=np.float64), int(n))
        sds = np.resize(np.asarray(sd, dtype=np.float64), int(n))
        draws = (sds != 0) & np.isfinite(means)
        out = means.copy()
        out[draws] = means[draws] + sds[draws] * self.norm_rand(int(draws.sum()))
        return out
