"""The similarity report ranks renamed copies first, ignores starter code, escapes code."""

from __future__ import annotations

from cs231n_course.similarity import compare, report_html

STUB = 'raise NotImplementedError("f: implement this in x.py (see the TODO above)")'
ORIGINAL = """
nearest = self.y_train[np.argsort(dists[i])[:k]]   # k closest labels
votes = np.bincount(nearest)
y_pred[i] = np.argmax(votes)
for j in range(num_train):
    total = total + abs(X[i, j] - self.X_train[j, i]) * weights[j]
"""
RENAMED = """
closest = self.y_train[np.argsort(dists[i])[:k]]
counts = np.bincount(closest)
y_pred[i] = np.argmax(counts)
for jj in range(num_train):
    acc = acc + abs(X[i, jj] - self.X_train[jj, i]) * weights[jj]
"""
OWN = """
order = sorted(range(len(dists[i])), key=lambda n: dists[i][n])
labels = [int(self.y_train[n]) for n in order[:k]]
y_pred[i] = max(set(labels), key=labels.count)
"""


def test_renamed_copy_ranks_first_and_stub_is_boilerplate():
    found = {
        "alice": {"f": ORIGINAL, "g": STUB + "\n"},
        "bob": {"f": RENAMED},
        "carol": {"f": OWN},
    }
    pairs = compare(found, {"f": STUB, "g": STUB})
    assert (pairs[0].a, pairs[0].b) == ("alice", "bob") and pairs[0].score > 0.8
    others = {(p.a, p.b): p.score for p in pairs[1:]}
    assert others[("alice", "carol")] < 0.3 and others[("bob", "carol")] < 0.3
    assert [r.region for r in pairs[0].regions] == ["f"]


def test_report_escapes_code_and_never_grades():
    evil = ORIGINAL + "\nx = '</pre><script>alert(1)</script>'\n"
    pairs = compare({"a<b>": {"f": evil}, "c": {"f": evil}}, {})
    page = report_html(pairs, ["d: refused (<img src=x>)"], top=10)
    assert "<script>" not in page and "<img" not in page
    assert "a&lt;b&gt;" in page and "&lt;script&gt;" in page
    assert "never changes a grade" in page
