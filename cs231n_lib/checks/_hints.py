"""Hints that more than one check gives, written once."""

from cs231n_lib.i18n import N_

# Why the textbook route (shift, exponentiate, normalise, then -log p_y) fails at large scores,
# and what to compute instead. The same words are in every softmax TODO and in notebooks 03/04.
SOFTMAX_UNDERFLOW_HINT = N_(
    "the loss is not finite for scores of the order of 1e4. Shifting by the largest score keeps "
    "exp from overflowing, but the probability of a class whose score is more than about 745 "
    "below the largest, exp(s_y - max) / sum, underflows to exactly 0, and -log(0) is inf. "
    "Compute the log-probability directly instead: log p_y = (s_y - max) - "
    "log(sum_k exp(s_k - max)), and the loss is minus that"
)
