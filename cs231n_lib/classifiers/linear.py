"""Linear classifiers: the multiclass SVM and softmax losses, and minibatch SGD to train them.

A linear classifier scores every class with one matrix product, ``scores = X @ W``:

- ``X`` has shape (N, D): N examples, one per row, each a flattened image *with a constant 1
  appended* (the bias trick), so ``D = 32*32*3 + 1 = 3073`` on CIFAR-10 and the last row of ``W``
  is the bias.
- ``W`` has shape (D, C): one column (a "template") per class; ``C = 10`` on CIFAR-10.
- ``y`` has shape (N,): integer labels in ``0 .. C-1``.

Every loss here is the *average* data loss over the N examples plus an L2 penalty.

Regularisation convention (the same everywhere in this course)
    ``R(W) = 0.5 * reg * sum(W * W)``, so its gradient is simply ``reg * W``. The factor 0.5 only
    rescales ``reg``; keeping it makes every gradient formula (here and in the two-layer net) free
    of stray 2s. Like CS231n, the bias row of ``W`` is regularised too.

Students write the four losses (``svm_loss_naive``, ``svm_loss_vectorized``,
``softmax_loss_naive``, ``softmax_loss_vectorized``) and the minibatch sampling, the update step
and the prediction of :class:`LinearClassifier`; the rest is support code.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from cs231n_lib import i18n
from cs231n_lib.atomic import atomic_file


def svm_loss_naive(W, X, y, reg):
    """Multiclass SVM (hinge) loss and its gradient, with explicit loops.

    For one example with scores ``s = x @ W`` and correct class ``y_i``::

        L_i = sum over j != y_i of max(0, s_j - s_{y_i} + 1)

    and the loss is ``mean_i L_i + 0.5 * reg * sum(W * W)``.

    Parameters
    ----------
    W : ndarray, shape (D, C)
        Weights, one column per class.
    X : ndarray, shape (N, D)
        A minibatch of data, one example per row.
    y : ndarray of int, shape (N,)
        Labels; ``y[i] = c`` means ``X[i]`` has label ``c``, ``0 <= c < C``.
    reg : float
        Regularisation strength.

    Returns
    -------
    loss : float
    dW : ndarray, shape (D, C)
        Gradient of the loss with respect to ``W``.
    """
    dW = np.zeros_like(W, dtype=np.float64)  # (D, C)
    loss = 0.0
    # TODO: compute the SVM loss and its gradient with explicit loops over the examples i and
    # the classes j (no vectorisation yet):
    #   - scores = X[i] @ W; every class j != y[i] with margin = scores[j] - scores[y[i]] + 1 > 0
    #     adds the margin to the loss, adds X[i] to column j of dW and subtracts it from
    #     column y[i];
    #   - divide loss and dW by the number of examples N (the loss is an average);
    #   - add the regularisation 0.5 * reg * sum(W * W) to the loss and its gradient reg * W to dW.
    ### BEGIN SOLUTION
    N = X.shape[0]
    C = W.shape[1]
    for i in range(N):
        scores = X[i] @ W  # (C,)
        correct_class_score = scores[y[i]]
        for j in range(C):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1  # delta = 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= N
    dW /= N
    loss += 0.5 * reg * np.sum(W * W)
    dW += reg * W
    ### END SOLUTION
    return float(loss), dW


def svm_loss_vectorized(W, X, y, reg):
    """Multiclass SVM loss and gradient without loops; same inputs and outputs as
    :func:`svm_loss_naive`.

    Parameters
    ----------
    W : ndarray, shape (D, C)
    X : ndarray, shape (N, D)
    y : ndarray of int, shape (N,)
    reg : float

    Returns
    -------
    loss : float
    dW : ndarray, shape (D, C)
    """
    loss = 0.0
    dW = np.zeros_like(W, dtype=np.float64)  # (D, C)
    # TODO: compute the same loss and gradient as svm_loss_naive without Python loops.
    #   - scores = X @ W has shape (N, C); pick every row's correct score with
    #     scores[np.arange(N), y]; margins = max(0, scores - correct[:, None] + 1), with the
    #     correct class's margin set to 0.
    #   - Gradient: a matrix G of shape (N, C) says how often X[i] is added to column j of dW:
    #     G[i, j] = 1 where margins[i, j] > 0, and G[i, y[i]] = -(number of positive margins in
    #     row i). Then dW = X.T @ G / N.
    #   - Add the regularisation as in the naive version.
    ### BEGIN SOLUTION
    N = X.shape[0]
    scores = X @ W  # (N, C)
    correct = scores[np.arange(N), y]  # (N,)
    margins = np.maximum(0, scores - correct[:, None] + 1)  # (N, C)
    margins[np.arange(N), y] = 0
    loss = np.sum(margins) / N + 0.5 * reg * np.sum(W * W)

    G = (margins > 0).astype(np.float64)  # (N, C)
    G[np.arange(N), y] = -np.sum(G, axis=1)
    dW = X.T @ G / N + reg * W  # (D, C)
    ### END SOLUTION
    return float(loss), dW


def softmax_loss_naive(W, X, y, reg):
    """Softmax (cross-entropy) loss and its gradient, with explicit loops.

    For one example with scores ``s = x @ W`` and probabilities
    ``p_j = exp(s_j) / sum_k exp(s_k)``::

        L_i = -log p_{y_i}

    and the loss is ``mean_i L_i + 0.5 * reg * sum(W * W)``. Subtracting ``max(s)`` from the
    scores before exponentiating leaves ``p`` unchanged and keeps ``exp`` from overflowing;
    computing ``log p`` directly (not ``log`` of an underflowed ``p``) keeps the loss finite.

    Parameters
    ----------
    W : ndarray, shape (D, C)
        Weights, one column per class.
    X : ndarray, shape (N, D)
        A minibatch of data, one example per row.
    y : ndarray of int, shape (N,)
        Labels, ``0 <= y[i] < C``.
    reg : float
        Regularisation strength.

    Returns
    -------
    loss : float
    dW : ndarray, shape (D, C)
    """
    loss = 0.0
    dW = np.zeros_like(W, dtype=np.float64)  # (D, C)
    # TODO: compute the softmax loss and its gradient with explicit loops over the examples.
    #   - Numerical stability, for scores of 1e4: shift the scores by their maximum m before
    #     np.exp, so that nothing overflows. Then do not form p_y and take -log(p_y): when s_y is
    #     more than about 745 below m, p_y = exp(s_y - m) / sum underflows to exactly 0 and
    #     -log(0) = inf. Compute the log-probability directly:
    #     log p_y = (s_y - m) - log(sum_k exp(s_k - m)).
    #   - dL_i/ds_j = p_j - 1[j == y_i], and ds_j/dW[:, j] = X[i].
    #   - Average over the N examples, then add 0.5 * reg * sum(W * W) and its gradient reg * W.
    ### BEGIN SOLUTION
    N = X.shape[0]
    C = W.shape[1]
    for i in range(N):
        scores = X[i] @ W  # (C,)
        scores = scores - np.max(scores)  # shift: exp(scores) <= 1, no overflow
        exp_scores = np.exp(scores)  # (C,)
        total = np.sum(exp_scores)
        loss += np.log(total) - scores[y[i]]  # -log(p[y[i]]) without forming p
        for j in range(C):
            p_j = exp_scores[j] / total
            dW[:, j] += (p_j - (j == y[i])) * X[i]
    loss /= N
    dW /= N
    loss += 0.5 * reg * np.sum(W * W)
    dW += reg * W
    ### END SOLUTION
    return float(loss), dW


def softmax_loss_vectorized(W, X, y, reg):
    """Softmax loss and gradient without loops; same inputs and outputs as
    :func:`softmax_loss_naive`.

    Parameters
    ----------
    W : ndarray, shape (D, C)
    X : ndarray, shape (N, D)
    y : ndarray of int, shape (N,)
    reg : float

    Returns
    -------
    loss : float
    dW : ndarray, shape (D, C)
    """
    loss = 0.0
    dW = np.zeros_like(W, dtype=np.float64)  # (D, C)
    # TODO: compute the softmax loss and its gradient without Python loops.
    #   - scores = X @ W (N, C).
    #   - Numerical stability, for scores of 1e4: shift the scores by their maximum m before
    #     np.exp, so that nothing overflows. Then do not form p_y and take -log(p_y): when s_y is
    #     more than about 745 below m, p_y = exp(s_y - m) / sum underflows to exactly 0 and
    #     -log(0) = inf. Compute the log-probability directly:
    #     log p_y = (s_y - m) - log(sum_k exp(s_k - m)).
    #     Row by row: log_probs = shifted - log(sum(exp(shifted), axis=1, keepdims=True)).
    #   - The loss averages -log p[i, y[i]]; the gradient is X.T @ (P - Y) / N, where P holds the
    #     probabilities and Y is one-hot: subtract 1 at [np.arange(N), y] (on a copy of P).
    #   - Add the regularisation as in the naive version.
    ### BEGIN SOLUTION
    N = X.shape[0]
    scores = X @ W  # (N, C)
    shifted = scores - np.max(scores, axis=1, keepdims=True)  # (N, C), each row's max is 0
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))  # (N, C)
    loss = -np.sum(log_probs[np.arange(N), y]) / N + 0.5 * reg * np.sum(W * W)

    dscores = np.exp(log_probs)  # (N, C), the probabilities P
    dscores[np.arange(N), y] -= 1  # P - Y
    dW = X.T @ dscores / N + reg * W  # (D, C)
    ### END SOLUTION
    return float(loss), dW


class LinearClassifier:
    """A linear classifier ``scores = X @ W`` trained by minibatch stochastic gradient descent.

    Subclasses choose the loss (:class:`LinearSVM`, :class:`Softmax`).

    Attributes
    ----------
    W : ndarray, shape (D, C), or None
        The weights; None until :meth:`train` or :meth:`load` sets them. You may also assign
        them directly.
    """

    def __init__(self, W: np.ndarray | None = None):
        self.W = W

    def train(
        self,
        X,
        y,
        learning_rate=1e-3,
        reg=1e-5,
        num_iters=100,
        batch_size=200,
        verbose=False,
        seed=None,
    ):
        """Train with minibatch stochastic gradient descent.

        Each iteration draws a minibatch of ``batch_size`` examples *with replacement*
        (``rng.choice(num_train, batch_size)``), as CS231n does: every minibatch is an
        independent sample of the training set, so every step's gradient is an unbiased estimate
        of the full gradient whatever happened before, the code is one line, and it also works
        when ``batch_size > num_train`` (small dev sets). On CIFAR-10 (49,000 examples, batches of
        200) about one minibatch in three contains a repeated example (almost always just one),
        so sampling without replacement or in shuffled epochs would train just the same. The loss
        is evaluated on the minibatch *before* the step: ``loss_history[0]`` is the loss of the
        starting weights. Weights the classifier already has are the starting point (calling
        ``train`` again continues training, for example with a smaller learning rate); otherwise
        they start small and random.

        Parameters
        ----------
        X : ndarray, shape (N, D)
            Training data (not modified).
        y : ndarray of int, shape (N,)
            Training labels, ``0 <= y[i] < C``; C is ``max(y) + 1`` when the weights are created.
        learning_rate : float
            Step size of the update ``W <- W - learning_rate * dW``.
        reg : float
            Regularisation strength (see the module docstring for the convention).
        num_iters : int
            Number of SGD steps.
        batch_size : int
            Examples per step.
        verbose : bool
            Show a progress bar (tqdm) with the current loss.
        seed : int, optional
            Seeds the generator that draws the initial weights (when ``W`` is None) and the
            minibatches; the same seed gives the same training run. None: a fresh random run.

        Returns
        -------
        loss_history : list of float, length num_iters
            The minibatch loss at every iteration.
        """
        X = np.asarray(X)
        y = np.asarray(y)
        if X.ndim != 2 or y.shape != (X.shape[0],):
            raise ValueError(
                i18n._(
                    "train expects X of shape (N, D) and y of shape (N,), got X {X_shape} and "
                    "y {y_shape}; flatten the images first: X.reshape(len(X), -1)"
                ).format(X_shape=X.shape, y_shape=y.shape)
            )
        num_train, dim = X.shape
        rng = np.random.default_rng(seed)
        if self.W is None:
            num_classes = int(np.max(y)) + 1  # y takes values 0 ... C-1
            self.W = 0.001 * rng.standard_normal((dim, num_classes))  # (D, C), small random
        elif self.W.shape[0] != dim:
            raise ValueError(
                i18n._(
                    "the weights have shape {shape} (D={D_W}) but X has D={D} columns; did you "
                    "forget the bias trick, or preprocess X differently?"
                ).format(shape=self.W.shape, D_W=self.W.shape[0], D=dim)
            )
        if np.min(y) < 0 or np.max(y) >= self.W.shape[1]:
            raise ValueError(
                i18n._(
                    "labels must lie in 0 .. {last} (one per column of W), got labels from {low} "
                    "to {high}"
                ).format(last=self.W.shape[1] - 1, low=np.min(y), high=np.max(y))
            )

        loss_history = []
        steps = range(num_iters)
        if verbose:
            from tqdm.auto import tqdm

            desc = i18n._("{name} SGD").format(name=type(self).__name__)
            steps = tqdm(steps, desc=desc, unit=i18n._("step"))
        for _ in steps:
            X_batch = None
            y_batch = None
            # TODO: sample batch_size examples and their labels, *with replacement*, into
            # X_batch (batch_size, D) and y_batch (batch_size,). Draw the indices with exactly
            # rng.choice(num_train, batch_size) so that runs are reproducible and the self-check
            # can replay your batches.
            ### BEGIN SOLUTION
            idx = rng.choice(num_train, batch_size)  # (batch_size,), with replacement
            X_batch = X[idx]  # (batch_size, D)
            y_batch = y[idx]  # (batch_size,)
            ### END SOLUTION

            loss, grad = self.loss(X_batch, y_batch, reg)
            loss_history.append(float(loss))

            # TODO: update the weights with one gradient-descent step, using the gradient `grad`
            # and the learning rate.
            ### BEGIN SOLUTION
            self.W = self.W - learning_rate * grad  # (D, C)
            ### END SOLUTION

            if verbose:
                steps.set_postfix(loss=f"{loss:.3f}", refresh=False)
        return loss_history

    def predict(self, X):
        """Predict labels with the trained weights.

        Parameters
        ----------
        X : ndarray, shape (N, D)
            Data to classify, preprocessed like the training data.

        Returns
        -------
        y_pred : ndarray of int, shape (N,)
            The class with the highest score for each row of X.
        """
        if self.W is None:
            raise RuntimeError(
                i18n._("the classifier has no weights yet; call train() or load() first")
            )
        if X.ndim != 2 or X.shape[1] != self.W.shape[0]:
            raise ValueError(
                i18n._(
                    "predict expects X of shape (N, {D}) to match the weights {W_shape}, got "
                    "{X_shape}; preprocess X like the training data"
                ).format(D=self.W.shape[0], W_shape=self.W.shape, X_shape=X.shape)
            )
        y_pred = np.zeros(X.shape[0], dtype=np.int64)
        # TODO: predict the class with the highest score for every row of X.
        ### BEGIN SOLUTION
        scores = X @ self.W  # (N, C)
        y_pred = np.argmax(scores, axis=1)  # (N,)
        ### END SOLUTION
        return y_pred

    def loss(self, X_batch, y_batch, reg):
        """Loss and gradient on a minibatch; subclasses choose the loss.

        Parameters
        ----------
        X_batch : ndarray, shape (B, D)
        y_batch : ndarray of int, shape (B,)
        reg : float

        Returns
        -------
        loss : float
        dW : ndarray, shape (D, C)
        """
        raise NotImplementedError(
            i18n._("{cls} has no loss; use LinearSVM or Softmax, or override loss()").format(
                cls=type(self).__name__
            )
        )

    # -- saving and loading the weights ---------------------------------------------------
    def save(self, path):
        """Write the weights to an ``.npz`` file, atomically (never a half-written file).

        Parameters
        ----------
        path : str or os.PathLike
            Destination; written exactly as given (no ``.npz`` is appended).
        """
        if self.W is None:
            raise RuntimeError(i18n._("nothing to save: the classifier has no weights yet"))
        path = Path(path)
        with atomic_file(path, "wb") as f:
            np.savez(f, W=np.asarray(self.W), kind=np.array(type(self).__name__))

    def load(self, path):
        """Read weights written by :meth:`save` (no pickles are ever loaded).

        Parameters
        ----------
        path : str or os.PathLike

        Returns
        -------
        self
            So that ``svm = LinearSVM().load("svm.npz")`` works.

        Raises
        ------
        FileNotFoundError
            No file at ``path``.
        ValueError
            The file is not an ``.npz`` written by :meth:`save`, its weights are not a finite
            2-D float array, or they do not have the shape of weights this classifier already
            holds.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                i18n._(
                    "no weights file at {path}; write one first with classifier.save({path!r})"
                ).format(path=str(path))
            )
        if not zipfile.is_zipfile(path):
            raise ValueError(
                i18n._(
                    "{path} is not a readable .npz file (not a zip archive); it may be truncated "
                    "or not written by LinearClassifier.save"
                ).format(path=path)
            )
        try:
            with np.load(path, allow_pickle=False) as data:
                if "W" not in data.files:
                    raise ValueError(
                        i18n._(
                            "{path} holds arrays {files} but no 'W'; it was not written by "
                            "LinearClassifier.save"
                        ).format(path=path, files=sorted(data.files))
                    )
                W = data["W"]
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            raise ValueError(
                i18n._(
                    "{path} is not a readable .npz file ({err}); it may be truncated or not "
                    "written by LinearClassifier.save"
                ).format(path=path, err=err)
            ) from err
        except ValueError as err:
            if "allow_pickle" in str(err):
                raise ValueError(
                    i18n._(
                        "{path} stores Python objects, which are never unpickled here; it was not "
                        "written by LinearClassifier.save"
                    ).format(path=path)
                ) from err
            raise
        if W.ndim != 2 or not np.issubdtype(W.dtype, np.floating):
            raise ValueError(
                i18n._(
                    "{path}: weights must be a 2-D float array of shape (D, C), got dtype "
                    "{dtype} and shape {shape}"
                ).format(path=path, dtype=W.dtype, shape=W.shape)
            )
        if not np.all(np.isfinite(W)):
            raise ValueError(
                i18n._("{path}: the weights contain NaN or infinity").format(path=path)
            )
        if self.W is not None and self.W.shape != W.shape:
            raise ValueError(
                i18n._(
                    "{path} holds weights of shape {shape} but this classifier's weights have "
                    "shape {own}; use a fresh classifier (W=None) to load other shapes"
                ).format(path=path, shape=W.shape, own=self.W.shape)
            )
        self.W = W
        return self


class LinearSVM(LinearClassifier):
    """Linear classifier trained with the multiclass SVM loss (:func:`svm_loss_vectorized`)."""

    def loss(self, X_batch, y_batch, reg):
        return svm_loss_vectorized(self.W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    """Linear classifier trained with the softmax loss (:func:`softmax_loss_vectorized`)."""

    def loss(self, X_batch, y_batch, reg):
        return softmax_loss_vectorized(self.W, X_batch, y_batch, reg)
