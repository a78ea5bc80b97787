"""Sequential change detectors for a 0/1 stream (an answer failed, or it passed): lab 3 runs
them on the judged live sample, answer by answer, to catch the drift when it starts.

Each has the same two parts: `update(failed) -> bool` adds one answer and says whether it alarms
(it then starts over), and `level` / `threshold` say how close it is. Two are scaled to a 0/1
stream (`BernoulliCusum`, `PageHinkley`); two keep the textbook settings for a normal or a large
metric (`NormalCusum`, `RiverPageHinkley`), to show the trap: on a 0/1 stream they misfire.

    >>> detector = BernoulliCusum(fail_rate=0.05)
    >>> any(detector.update(False) for _ in range(1000))        # a thousand passes: no alarm
    False
    >>> any(detector.update(True) for _ in range(60))           # a run of fails: an alarm
    True

Remember: a detector's threshold is only as good as the scale of the stream it was set for.
"""

from __future__ import annotations

import math

SHIFT = 0.10                # the smallest drop in pass rate worth an alarm: 10 points


class BernoulliCusum:
    """CUSUM (Page 1954) for a 0/1 stream, in the log-likelihood ratio form of Reynolds & Stoumbos
    (1999): each answer adds ln(p1/p0) if it failed, ln((1-p1)/(1-p0)) if it passed; the sum is
    floored at 0; an alarm sounds above h. Scaled to the stream: p0 the fail rate before, p1 =
    p0 + SHIFT the rate worth an alarm, h = ln(10,000): at least ~10,000 answers between false
    alarms (Lorden: ARL0 >= e^h)."""
    name, short = "CUSUM, Bernoulli (scaled)", "CUSUM"

    def __init__(self, fail_rate: float, shift: float = SHIFT, h: float = math.log(10_000)):
        p0 = min(max(fail_rate, 0.005), 0.9)
        p1 = min(p0 + shift, 0.99)
        self.on_fail, self.on_pass = math.log(p1 / p0), math.log((1 - p1) / (1 - p0))
        self.threshold, self.level = h, 0.0

    def update(self, failed: bool) -> bool:
        """Add one answer; True when the detector alarms (it then starts over)."""
        self.level = max(0.0, self.level + (self.on_fail if failed else self.on_pass))
        alarmed = self.level > self.threshold
        self.level = 0.0 if alarmed else self.level
        return alarmed


class NormalCusum:
    """The textbook tabular CUSUM for a normal stream (Montgomery, Statistical Quality Control):
    S = max(0, S + z - k), alarm when S > h, k = 0.5 and h = 5 sigma. Here to show it misfiring on
    a 0/1 stream: at the story's 4.3 % fail rate one fail is a 4.7-sigma jump: two cross h."""
    name, short = "CUSUM, normal k, h (unscaled)", "the unscaled CUSUM"

    def __init__(self, fail_rate: float, k: float = 0.5, h: float = 5.0):
        self.mean = min(max(fail_rate, 0.005), 0.9)
        self.sigma = math.sqrt(self.mean * (1 - self.mean))
        self.k, self.threshold, self.level = k, h, 0.0

    def update(self, failed: bool) -> bool:
        """Add one answer; True when the detector alarms (it then starts over)."""
        z = ((1.0 if failed else 0.0) - self.mean) / self.sigma
        self.level = max(0.0, self.level + z - self.k)
        alarmed = self.level > self.threshold
        self.level = 0.0 if alarmed else self.level
        return alarmed


class PageHinkley:
    """Page-Hinkley test (Page 1954; Hinkley 1971), after river's PageHinkley, for a rise in the
    fail rate: m_t = alpha m_(t-1) + (x_t - mean_t - delta), mean_t the running mean; alarm when
    m_t - min m > threshold, after min_instances answers. It learns its mean (`fail_rate` unused).
    river's defaults (delta 0.005, threshold 50) suit a metric of size ~100: on a 0/1 stream 50
    means fifty fails beyond the mean. Scaled: delta = SHIFT / 2 and threshold = 5 fails."""
    name, short = "Page-Hinkley (scaled)", "Page-Hinkley"

    def __init__(self, fail_rate: float = 0.0, delta: float = SHIFT / 2, threshold: float = 5.0,
                 min_instances: int = 30, alpha: float = 0.9999):
        self.delta, self.threshold, self.alpha = delta, threshold, alpha
        self.min_instances = min_instances
        self._reset()

    def _reset(self) -> None:
        self.n, self.mean, self.sum, self.minimum, self.level = 0, 0.0, 0.0, 0.0, 0.0

    def update(self, failed: bool) -> bool:
        x = 1.0 if failed else 0.0
        self.n += 1
        self.mean += (x - self.mean) / self.n
        self.sum = self.alpha * self.sum + (x - self.mean - self.delta)
        self.minimum = min(self.minimum, self.sum)
        self.level = self.sum - self.minimum
        if self.n >= self.min_instances and self.level > self.threshold:
            self._reset()
            return True
        return False


class RiverPageHinkley(PageHinkley):
    """Page-Hinkley with river's defaults in raw units (delta 0.005, threshold 50): the trap."""
    name, short = "Page-Hinkley, river (unscaled)", "river's Page-Hinkley"

    def __init__(self, fail_rate: float = 0.0):
        super().__init__(fail_rate, delta=0.005, threshold=50.0)
