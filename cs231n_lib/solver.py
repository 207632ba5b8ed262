"""Solver: trains a model with minibatch gradient descent and keeps the best parameters.

The model is any object with

- ``model.params``: a dict from parameter names to arrays, which the Solver updates;
- ``model.loss(X, y=None)``: scores (N, C) when ``y`` is None, else ``(loss, grads)`` with
  ``grads`` a dict with the same keys and shapes as ``params``.

Example::

    solver = Solver(model, data, update_rule="sgd", optim_config={"learning_rate": 1e-3},
                    lr_decay=0.95, num_epochs=10, batch_size=100, seed=0)
    solver.train()
    solver.best_val_acc, solver.loss_history, model.params  # best parameters restored
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from cs231n_lib import optim
from cs231n_lib.atomic import atomic_file
from cs231n_lib.i18n import _

_DATA_KEYS = ("X_train", "y_train", "X_val", "y_val")


class Solver:
    """Minibatch training of a classification model, with validation and checkpoints.

    Parameters
    ----------
    model : object
        Has ``params`` (dict of str to ndarray) and ``loss(X, y=None)`` (see the module doc).
    data : dict
        ``X_train`` (N_train, ...), ``y_train`` (N_train,), ``X_val`` (N_val, ...),
        ``y_val`` (N_val,); other keys are ignored.
    update_rule : str or callable
        A name in :data:`cs231n_lib.optim.UPDATE_RULES` (``"sgd"``, ``"sgd_momentum"``,
        ``"rmsprop"``, ``"adam"``) or a function ``(w, dw, config) -> (next_w, config)``.
    optim_config : dict, optional
        Hyper-parameters for the update rule (e.g. ``{"learning_rate": 1e-3}``); every
        parameter gets its own copy, which also holds its state (velocity ...).
    lr_decay : float
        The learning rate is multiplied by this after every epoch.
    batch_size : int
        Minibatch size.
    num_epochs : int or float
        Number of passes over the training data.
    num_train_samples : int or None
        Training examples used to measure training accuracy (None: all).
    num_val_samples : int or None
        Validation examples used to measure validation accuracy (None: all).
    checkpoint_name : str or path, optional
        If given, the state after every epoch is saved to ``<checkpoint_name>_epoch_<k>.npz``.
    print_every : int
        With ``verbose``, print the training loss every this many iterations.
    verbose : bool
        Print losses and accuracies while training.
    progress : bool
        Show a progress bar (tqdm; a widget in notebooks, text in terminals).
    seed : int, optional
        Seed of the generator that draws minibatches and accuracy subsamples.

    Attributes
    ----------
    loss_history : list of float
        Training loss of every iteration.
    train_acc_history, val_acc_history : list of float
        Accuracies measured at the start and after every epoch.
    best_val_acc : float
    best_params : dict of str to ndarray
        Copies of the parameters that reached ``best_val_acc``; :meth:`train` puts them back
        into ``model.params`` at the end.
    epoch : int
    stopped_early : str or None
        Why training stopped before the last iteration (a loss that is not finite), else None.
    """

    def __init__(
        self,
        model,
        data,
        *,
        update_rule="sgd",
        optim_config=None,
        lr_decay=1.0,
        batch_size=100,
        num_epochs=10,
        num_train_samples=1000,
        num_val_samples=None,
        checkpoint_name=None,
        print_every=10,
        verbose=True,
        progress=True,
        seed=None,
    ):
        if not isinstance(getattr(model, "params", None), dict) or not callable(
            getattr(model, "loss", None)
        ):
            raise TypeError(
                _(
                    "model must have a dict `params` and a method `loss(X, y=None)`; got a {type}"
                ).format(type=type(model).__name__)
            )
        missing = [key for key in _DATA_KEYS if key not in data]
        if missing:
            raise KeyError(
                _("data is missing {missing}; the Solver needs {keys}").format(
                    missing=missing, keys=list(_DATA_KEYS)
                )
            )
        for split in ("train", "val"):
            X, y = data[f"X_{split}"], data[f"y_{split}"]
            if len(X) != len(y):
                raise ValueError(
                    _(
                        "X_{split} has {num_x} examples but y_{split} has {num_y} labels; they "
                        "must match"
                    ).format(split=split, num_x=len(X), num_y=len(y))
                )
        if len(data["X_train"]) == 0:
            raise ValueError(_("X_train is empty; the Solver needs training examples"))
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(
                _("batch_size must be a positive integer, got {value!r}").format(value=batch_size)
            )
        if num_epochs < 0:
            raise ValueError(_("num_epochs must be >= 0, got {value!r}").format(value=num_epochs))
        if not lr_decay > 0:
            raise ValueError(
                _("lr_decay must be > 0 (1.0 means no decay), got {value!r}").format(value=lr_decay)
            )
        if int(print_every) != print_every or print_every < 1:
            raise ValueError(
                _("print_every must be a positive integer, got {value!r}").format(value=print_every)
            )

        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]
        self.update_rule = _resolve_update_rule(update_rule)
        self.optim_config = dict(optim_config or {})
        self.lr_decay = lr_decay
        self.batch_size = int(batch_size)
        self.num_epochs = num_epochs
        self.num_train_samples = num_train_samples
        self.num_val_samples = num_val_samples
        self.checkpoint_name = checkpoint_name
        self.print_every = int(print_every)
        self.verbose = verbose
        self.progress = progress
        self.rng = np.random.default_rng(seed)
        self._reset()

    def _reset(self) -> None:
        """Fresh bookkeeping: histories, best values and one optimiser config per parameter."""
        self.epoch = 0
        self.best_val_acc = 0.0
        self.best_params = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.stopped_early = None
        self.optim_configs = {name: dict(self.optim_config) for name in self.model.params}

    def _step(self) -> float:
        """One gradient update on a random minibatch; returns its loss."""
        num_train = len(self.X_train)
        batch = self.rng.choice(num_train, self.batch_size, replace=num_train < self.batch_size)
        loss, grads = self.model.loss(self.X_train[batch], self.y_train[batch])
        for name, w in self.model.params.items():
            if name not in grads:
                raise KeyError(
                    _(
                        "model.loss returned no gradient for parameter {name!r}; grads has {keys}"
                    ).format(name=name, keys=sorted(grads))
                )
            next_w, self.optim_configs[name] = self.update_rule(
                w, grads[name], self.optim_configs[name]
            )
            self.model.params[name] = next_w
        return float(loss)

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Fraction of examples the model classifies correctly.

        Parameters
        ----------
        X : ndarray, shape (N, ...)
        y : ndarray of int, shape (N,)
        num_samples : int, optional
            If given and smaller than N, measure on this many examples drawn at random.
        batch_size : int
            Examples per forward pass (bounds the memory used).

        Returns
        -------
        acc : float
        """
        N = len(X)
        if N == 0:
            raise ValueError(_("check_accuracy: X is empty"))
        if num_samples is not None and num_samples < N:
            subset = self.rng.choice(N, num_samples, replace=False)
            X, y = X[subset], y[subset]
            N = num_samples
        y_pred = np.empty(N, dtype=np.int64)
        for start in range(0, N, batch_size):
            scores = self.model.loss(X[start : start + batch_size])  # (batch, C)
            y_pred[start : start + batch_size] = np.argmax(scores, axis=1)
        return float(np.mean(y_pred == y))

    def _record_accuracies(self, bar) -> None:
        train_acc = self.check_accuracy(
            self.X_train, self.y_train, num_samples=self.num_train_samples
        )
        val_acc = self.check_accuracy(self.X_val, self.y_val, num_samples=self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        if self.verbose:
            bar.write(
                _("(Epoch {epoch} / {epochs}) train acc: {train:.3f}; val acc: {val:.3f}").format(
                    epoch=self.epoch, epochs=self.num_epochs, train=train_acc, val=val_acc
                )
            )
        if val_acc > self.best_val_acc or not self.best_params:
            self.best_val_acc = val_acc
            self.best_params = {k: v.copy() for k, v in self.model.params.items()}

    def train(self):
        """Run the optimisation, then restore the parameters with the best validation accuracy.

        Returns
        -------
        self : Solver
        """
        self._reset()
        num_train = len(self.X_train)
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = int(self.num_epochs * iterations_per_epoch)
        bar = tqdm(total=num_iterations, disable=not self.progress, desc=_("training"), unit="it")
        try:
            self._record_accuracies(bar)
            for t in range(num_iterations):
                loss = self._step()
                self.loss_history.append(loss)
                bar.update(1)
                if not np.isfinite(loss):
                    self.stopped_early = _(
                        "the loss became {loss} at iteration {t}; the learning rate is probably "
                        "too high"
                    ).format(loss=loss, t=t + 1)
                    if self.verbose:
                        bar.write(_("Stopped: {why}").format(why=self.stopped_early))
                    break
                if self.verbose and t % self.print_every == 0:
                    bar.write(
                        _("(Iteration {t} / {total}) loss: {loss:.6f}").format(
                            t=t + 1, total=num_iterations, loss=loss
                        )
                    )
                if (t + 1) % iterations_per_epoch == 0:
                    self.epoch += 1
                    for config in self.optim_configs.values():
                        if "learning_rate" in config:
                            config["learning_rate"] *= self.lr_decay
                    self._record_accuracies(bar)
                    self._save_checkpoint()
                    bar.set_postfix(epoch=self.epoch, val_acc=f"{self.val_acc_history[-1]:.3f}")
        finally:
            bar.close()
        self.model.params.update({k: v.copy() for k, v in self.best_params.items()})
        return self

    def _save_checkpoint(self) -> Path | None:
        """Save parameters, optimiser state and histories atomically (no pickle)."""
        if self.checkpoint_name is None:
            return None
        path = Path(f"{self.checkpoint_name}_epoch_{self.epoch}.npz")
        arrays = {
            "epoch": np.asarray(self.epoch),
            "lr_decay": np.asarray(self.lr_decay),
            "batch_size": np.asarray(self.batch_size),
            "update_rule": np.asarray(getattr(self.update_rule, "__name__", "custom")),
            "loss_history": np.asarray(self.loss_history, dtype=np.float64),
            "train_acc_history": np.asarray(self.train_acc_history, dtype=np.float64),
            "val_acc_history": np.asarray(self.val_acc_history, dtype=np.float64),
        }
        for name, value in self.model.params.items():
            arrays[f"params/{name}"] = np.asarray(value)
        for name, config in self.optim_configs.items():
            for key, value in config.items():
                arrays[f"optim/{name}/{key}"] = np.asarray(value)
        save_npz_atomic(path, arrays)
        if self.verbose:
            tqdm.write(_('Saved checkpoint to "{path}"').format(path=path))
        return path


def _resolve_update_rule(update_rule) -> Callable:
    if callable(update_rule):
        return update_rule
    if isinstance(update_rule, str) and update_rule in optim.UPDATE_RULES:
        return optim.UPDATE_RULES[update_rule]
    raise ValueError(
        _(
            "unknown update_rule {rule!r}; use one of {rules} or a function (w, dw, config) -> "
            "(next_w, config)"
        ).format(rule=update_rule, rules=sorted(optim.UPDATE_RULES))
    )


def save_npz_atomic(path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` with ``np.savez``: to a temporary file, then rename.

    A reader never sees a half-written file, and an interrupted save leaves the previous file
    intact.
    """
    with atomic_file(path, "wb") as f:
        np.savez(f, **arrays)


def load_checkpoint(path) -> dict:
    """Read a checkpoint written by :class:`Solver`.

    Returns
    -------
    dict
        ``params`` (dict of arrays), ``optim_configs`` (dict of dicts), ``epoch`` and the
        other scalars, and the histories as lists.
    """
    out: dict = {"params": {}, "optim_configs": {}}
    with np.load(path, allow_pickle=False) as data:
        for key in data.files:
            value = data[key]
            if key.startswith("params/"):
                out["params"][key.split("/", 1)[1]] = value
            elif key.startswith("optim/"):
                _prefix, name, field = key.split("/", 2)
                configs = out["optim_configs"].setdefault(name, {})
                configs[field] = value if value.ndim else value.item()
            elif key.endswith("_history"):
                out[key] = value.tolist()
            else:
                out[key] = value.item()
    return out
