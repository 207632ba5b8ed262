"""Solver: training, batched accuracy, best-parameter restore, checkpoints, clear errors."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from cs231n_lib import optim
from cs231n_lib.classifiers.two_layer_net import TwoLayerNet
from cs231n_lib.solver import Solver, load_checkpoint, save_npz_atomic


def toy_data(seed=0, n_train=200, n_val=100, D=8, C=3):
    """Linearly separable-ish blobs: a two-layer net should fit them easily."""
    rng = np.random.default_rng(seed)
    centres = 3 * rng.standard_normal((C, D))
    y = rng.integers(C, size=n_train + n_val)
    X = centres[y] + rng.standard_normal((n_train + n_val, D))
    X = X.reshape(-1, 2, D // 2)  # (N, d1, d2): the net flattens it
    return {
        "X_train": X[:n_train],
        "y_train": y[:n_train],
        "X_val": X[n_train:],
        "y_val": y[n_train:],
    }


def make_solver(data=None, **kwargs):
    model = TwoLayerNet(input_dim=8, hidden_dim=20, num_classes=3, weight_scale=0.1, seed=0)
    kwargs = {"verbose": False, "progress": False, "seed": 0, "num_epochs": 3, **kwargs}
    kwargs.setdefault("batch_size", 20)
    return Solver(model, data or toy_data(), **kwargs)


@pytest.mark.parametrize("rule", sorted(optim.UPDATE_RULES))
def test_training_learns(rule):
    lr = 1e-2 if rule in ("adam", "rmsprop") else 1e-1
    solver = make_solver(update_rule=rule, optim_config={"learning_rate": lr}).train()
    assert np.mean(solver.loss_history[-5:]) < solver.loss_history[0]
    assert solver.best_val_acc > 0.8
    iterations = 3 * (200 // 20)
    assert len(solver.loss_history) == iterations
    assert len(solver.val_acc_history) == len(solver.train_acc_history) == 3 + 1


def test_same_seed_same_run():
    a = make_solver(optim_config={"learning_rate": 0.1}).train()
    b = make_solver(optim_config={"learning_rate": 0.1}).train()
    assert a.loss_history == b.loss_history


def test_best_params_are_restored():
    solver = make_solver(optim_config={"learning_rate": 0.1}, num_epochs=4).train()
    assert solver.best_val_acc == max(solver.val_acc_history)
    for name, value in solver.best_params.items():
        np.testing.assert_array_equal(solver.model.params[name], value)
    acc = solver.check_accuracy(solver.X_val, solver.y_val)
    assert acc == solver.best_val_acc


def test_check_accuracy_batches_agree():
    solver = make_solver()
    X, y = solver.X_val, solver.y_val
    full = solver.check_accuracy(X, y, batch_size=1000)
    assert solver.check_accuracy(X, y, batch_size=7) == full
    scores = solver.model.loss(X)
    assert full == np.mean(np.argmax(scores, axis=1) == y)
    assert 0 <= solver.check_accuracy(X, y, num_samples=10) <= 1


def test_lr_decay_applies_every_epoch():
    solver = make_solver(optim_config={"learning_rate": 0.1}, lr_decay=0.5, num_epochs=3).train()
    for config in solver.optim_configs.values():
        assert config["learning_rate"] == pytest.approx(0.1 * 0.5**3)


def test_callable_update_rule():
    calls = []

    def halve(w, dw, config):
        calls.append(w.shape)
        return w * 0.5, config

    solver = make_solver(update_rule=halve, num_epochs=1, batch_size=100).train()
    assert len(calls) == 2 * 4  # 2 iterations x 4 parameters
    assert solver.update_rule is halve


def test_diverging_training_stops_early():
    with np.errstate(all="ignore"):
        solver = make_solver(optim_config={"learning_rate": 1e12}).train()
    assert solver.stopped_early is not None and "too high" in solver.stopped_early
    assert all(np.all(np.isfinite(v)) for v in solver.model.params.values())


def test_checkpoints_are_npz_without_pickle(tmp_path):
    name = tmp_path / "net"
    solver = make_solver(update_rule="adam", checkpoint_name=name, num_epochs=2).train()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["net_epoch_1.npz", "net_epoch_2.npz"]  # no temporary files left
    ck = load_checkpoint(tmp_path / "net_epoch_2.npz")  # allow_pickle=False inside
    assert ck["epoch"] == 2 and ck["update_rule"] == "adam"
    assert ck["loss_history"] == solver.loss_history
    assert ck["optim_configs"]["W1"]["t"] == 20
    assert ck["params"]["W1"].shape == (8, 20)


def test_atomic_save_keeps_old_file_when_interrupted(tmp_path):
    path = tmp_path / "state.npz"
    save_npz_atomic(path, {"a": np.arange(3)})

    class Boom:
        def __array__(self, *args, **kwargs):
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        save_npz_atomic(path, {"a": np.arange(5), "b": Boom()})
    with np.load(path) as data:
        np.testing.assert_array_equal(data["a"], np.arange(3))
    assert [p.name for p in tmp_path.iterdir()] == ["state.npz"]
    assert zipfile.is_zipfile(path)


def test_verbose_output(capsys):
    make_solver(verbose=True, num_epochs=1, print_every=5).train()
    out = capsys.readouterr().out
    assert "(Iteration 1 / 10) loss:" in out and "(Epoch 1 / 1) train acc:" in out


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"update_rule": "sdg"}, ValueError, r"unknown update_rule 'sdg'; use one of \['adam'"),
        ({"batch_size": 0}, ValueError, "batch_size must be a positive integer, got 0"),
        ({"num_epochs": -1}, ValueError, "num_epochs must be >= 0"),
        ({"lr_decay": 0}, ValueError, "lr_decay must be > 0"),
        ({"print_every": 0}, ValueError, "print_every must be a positive integer"),
    ],
)
def test_bad_config_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        make_solver(**kwargs)


def test_bad_data_and_model_errors():
    data = toy_data()
    with pytest.raises(KeyError, match=r"data is missing \['y_val'\]"):
        make_solver({k: v for k, v in data.items() if k != "y_val"})
    with pytest.raises(ValueError, match="X_train has 200 examples but y_train has 199 labels"):
        make_solver({**data, "y_train": data["y_train"][:-1]})
    with pytest.raises(TypeError, match="model must have a dict `params`"):
        Solver(object(), data)
