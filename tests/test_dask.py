# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""sparseclf.dask.train on a local cluster of worker processes."""

import pickle
import subprocess
import sys

import numpy as np
import pytest

da = pytest.importorskip("dask.array", reason="sparseclf.dask needs the dask extra")
distributed = pytest.importorskip("distributed", reason="the dask extra")

from sparseclf import SparseMLPClassifier, TextClassifier  # noqa: E402
from sparseclf._merge import _network  # noqa: E402
from sparseclf.dask import train  # noqa: E402
from sparseclf.datasets import make_extreme_classification  # noqa: E402

PARAMS = dict(
    random_state=0, batch_size=64, output_sparsity=0.1, hidden_layer_sizes=(32,)
)


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def data():
    X, Y = make_extreme_classification(
        3000, 2000, 500, nnz_per_sample=20, signal=0.8, random_state=0
    )
    y = np.asarray(Y.argmax(axis=1)).ravel()
    return X, Y, y


def _state(clf):
    net = _network(clf).network
    arrays = []
    for name in ("weights", "m_w", "v_w"):
        arrays += [getattr(net, name)[0][: net.n_rows], *getattr(net, name)[1:]]
    arrays += net.biases + net.m_b + net.v_b + [net.rows]
    return arrays


def _dask(X, y, rows):
    return (
        da.from_array(X, chunks=(rows, X.shape[1]), asarray=False),
        da.from_array(y, chunks=(rows,) + y.shape[1:], asarray=False),
    )


@pytest.mark.parametrize("multilabel", [False, True])
def test_one_shard_is_a_partial_fit_loop(client, data, multilabel):
    X, Y, y = data
    target = Y if multilabel else y
    classes = None if multilabel else np.arange(2000)
    sync = 3
    rows = PARAMS["batch_size"] * sync
    loop = SparseMLPClassifier(**PARAMS)
    for _ in range(2):
        for s in range(0, X.shape[0], rows):
            loop.partial_fit(X[s : s + rows], target[s : s + rows], classes=classes)
    clf = train(
        SparseMLPClassifier(**PARAMS),
        *_dask(X, target, X.shape[0]),  # one block: one shard, one replica
        classes=classes,
        epochs=2,
        sync_every=sync,
        shuffle=False,
    )
    for a, b in zip(_state(clf), _state(loop)):
        np.testing.assert_array_equal(a, b)
    sampler, sampler_loop = _network(clf).sampler, _network(loop).sampler
    np.testing.assert_array_equal(sampler.label_counts, sampler_loop.label_counts)
    assert clf.n_iter_ == 2 and clf.t_ == loop.t_ == 2 * X.shape[0]
    np.testing.assert_array_equal(clf.predict_proba(X[:50]), loop.predict_proba(X[:50]))


def test_two_workers_data_stays_and_result_loads_elsewhere(client, data, tmp_path):
    X, Y, y = data
    Xd, Yd = _dask(X[:2500], Y[:2500], 625)
    # Half the blocks on each worker (the scheduler alone may put them all on
    # the first free one when the machine is busy).
    workers = sorted(client.scheduler_info()["workers"])
    halves = [
        client.persist([Xd[part], Yd[part]], workers=[worker])
        for part, worker in zip((slice(0, 1250), slice(1250, None)), workers)
    ]
    Xd = da.concatenate([Xh for Xh, _ in halves])
    Yd = da.concatenate([Yh for _, Yh in halves])
    Xd, Yd = client.persist([Xd, Yd])
    distributed.wait([Xd, Yd])
    blocks = distributed.futures_of(Xd)
    where = client.who_has(blocks)
    assert len({w for ws in where.values() for w in ws}) == 2  # both hold data
    log = []
    params = {**PARAMS, "learning_rate_init": 0.01}
    clf = train(
        SparseMLPClassifier(**params),
        Xd,
        Yd,
        epochs=3,
        sync_every=4,
        random_state=0,
        callback=log.append,
    )
    assert client.who_has(blocks) == where  # no block of X moved or was copied
    assert {entry["epoch"] for entry in log} == {0, 1, 2}
    assert all(0 < entry["bytes_sent"] for entry in log)
    # The replicas' own times lie within the driver's wall times.
    for entry in log:
        assert 0 < entry["fit_seconds"] < entry["train_seconds"]
        assert 0 < entry["update_seconds"] < entry["train_seconds"]
        assert 0 < entry["apply_seconds"] < entry["send_seconds"]
    # As good as one process's training on the same data and epochs (the
    # replicas' changes add up: see combine="sum").
    alone = SparseMLPClassifier(**params)
    for _ in range(3):
        alone.partial_fit(X[:2500], Y[:2500])
    p1, p1_alone = (
        np.asarray(
            Y[2500:][np.arange(500), m.predict_topk(X[2500:], k=1)[0][:, 0]]
        ).mean()
        for m in (clf, alone)
    )
    assert p1 >= 0.9 * p1_alone and p1_alone > Y[:2500].mean(axis=0).max() + 0.2
    path = tmp_path / "clf.pkl"
    path.write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X.npy", X[:20].toarray())
    code = (
        "import pickle, sys, numpy as np; "
        f"clf = pickle.load(open({str(path)!r}, 'rb')); "
        f"X = np.load({str(tmp_path / 'X.npy')!r}); "
        "np.save(sys.argv[1], clf.predict_topk(X, k=3)[0])"
    )
    subprocess.run([sys.executable, "-c", code, tmp_path / "top.npy"], check=True)
    np.testing.assert_array_equal(
        np.load(tmp_path / "top.npy"), clf.predict_topk(X[:20].toarray(), k=3)[0]
    )


def test_a_failing_worker_leaves_the_estimator_as_it_was(client, data):
    X, _, y = data
    y = y.copy()
    classes = np.arange(2000)
    y[-1] = 5000  # the last block holds a label outside classes
    clf = SparseMLPClassifier(**PARAMS)
    with pytest.raises(ValueError, match=r"not in classes_: \[5000\]"):
        train(clf, *_dask(X, y, 1000), classes=classes, sync_every=2)
    assert not clf.__sklearn_is_fitted__()
    clf.partial_fit(X[:500], y[:500], classes=classes)
    before = [a.copy() for a in _state(clf)]
    with pytest.raises(ValueError, match="not in classes_"):
        train(clf, *_dask(X, y, 1000), classes=classes, sync_every=2)
    for a, b in zip(_state(clf), before):
        np.testing.assert_array_equal(a, b)


def test_text_classifier_from_files(client, tmp_path):
    rng = np.random.RandomState(0)
    words = {
        "sport": "match goal team score league coach",
        "food": "pizza pasta bread cheese salad soup",
        "tech": "laptop phone chip code software cloud",
    }
    paths = []
    for part in range(2):
        lines = []
        for i in range(150):
            label = sorted(words)[(i + part) % 3]
            text = " ".join(rng.choice(words[label].split(), 4))
            lines.append(f"__label__{label} {text}\n")
        paths.append(tmp_path / f"part{part}.ft")
        paths[-1].write_text("".join(lines))
    clf = TextClassifier(
        n_features=2**12, hidden_layer_sizes=(16,), batch_size=16, random_state=0
    )
    train(clf, [str(p) for p in paths], epochs=4, sync_every=2, random_state=0)
    assert clf.classes_.tolist() == ["food", "sport", "tech"]
    assert clf.predict(["pizza and cheese", "a goal for the team"]).tolist() == [
        "food",
        "sport",
    ]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"classes": None}, ValueError, "classes must be given"),
        ({"sync_every": 0}, ValueError, "sync_every must be a positive integer"),
        ({"transfer_dtype": "int8"}, ValueError, "transfer_dtype must be"),
        ({"rechunk_y": 500}, ValueError, "same row chunks"),
        ({"estimator": "other"}, TypeError, "SparseMLPClassifier or a TextClassifier"),
    ],
)
def test_bad_input(client, data, kwargs, error, message):
    X, _, y = data
    Xd, yd = _dask(X, y, 1000)
    if "rechunk_y" in kwargs:
        yd = yd.rechunk(kwargs.pop("rechunk_y"))
    estimator = kwargs.pop("estimator", SparseMLPClassifier())
    if estimator == "other":
        from sklearn.linear_model import SGDClassifier

        estimator = SGDClassifier()
    kwargs.setdefault("classes", np.arange(2000))
    with pytest.raises(error, match=message):
        train(estimator, Xd, yd, **kwargs)


def test_import_without_the_extra_names_it():
    code = (
        "import sys; sys.modules['distributed'] = None\n"
        "try:\n    import sparseclf.dask\n"
        "except ImportError as exc:\n    print(exc)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert 'pip install "sparseclf[dask]"' in out


def _topic_records(n, seed, multilabel=False):
    rng = np.random.RandomState(seed)
    words = {
        "sport": "match goal team score league coach",
        "food": "pizza pasta bread cheese salad soup",
        "tech": "laptop phone chip code software cloud",
    }
    names = sorted(words)
    records = []
    for i in range(n):
        label = names[i % 3]
        text = " ".join(rng.choice(words[label].split(), 4))
        if multilabel and i % 2:
            other = names[(i + 1) % 3]
            text += " " + " ".join(rng.choice(words[other].split(), 4))
            records.append((text, [label, other]))
        else:
            records.append((text, [label] if multilabel else label))
    return records


@pytest.mark.parametrize("multilabel", [False, True])
def test_text_classifier_from_a_bag(client, multilabel):
    import dask.bag as db

    records = _topic_records(600, 0, multilabel)
    bag = db.from_sequence(records, npartitions=4)
    clf = TextClassifier(
        n_features=2**12, hidden_layer_sizes=(16,), batch_size=16, random_state=0
    )
    train(clf, bag, epochs=3, sync_every=2, random_state=0)
    assert clf.classes_.tolist() == ["food", "sport", "tech"]
    test = _topic_records(90, 1, multilabel)
    texts = [t for t, _ in test]
    if multilabel:
        top, _ = clf.predict_topk(texts, k=1)
        assert np.mean([t in y for t, (_, y) in zip(top[:, 0], test)]) > 0.9
    else:
        assert clf.score(texts, [y for _, y in test]) > 0.9


def test_text_classifier_from_an_array_of_strings_with_early_stopping(client):
    records = _topic_records(600, 0)
    texts = np.array([t for t, _ in records], dtype=object)
    labels = np.array([y for _, y in records])
    valid = _topic_records(90, 1)
    clf = TextClassifier(
        n_features=2**12,
        hidden_layer_sizes=(16,),
        batch_size=16,
        random_state=0,
        n_iter_no_change=1,
    )
    train(
        clf,
        da.from_array(texts, chunks=150),
        da.from_array(labels, chunks=150),
        classes=["food", "sport", "tech"],
        epochs=30,
        sync_every=2,
        random_state=0,
        X_val=[t for t, _ in valid],
        y_val=[y for _, y in valid],
    )
    scores = clf.classifier_.validation_scores_
    assert len(scores) == clf.n_iter_ < 30  # stopped early
    # The kept weights are the best epoch's.
    assert clf.score([t for t, _ in valid], [y for _, y in valid]) == max(scores)


@pytest.mark.parametrize("n_busy", [2, 3])
@pytest.mark.parametrize("combine", ["sum", "mean"])
def test_shares_bring_every_replica_to_one_model(data, n_busy, combine):
    # What train sends each of three replicas (one idle when two trained),
    # taken as Replica.take takes it: all three end with one model, the start
    # plus the sum (or mean) of the changes. In one process, no cluster.
    from sparseclf._merge import Base, add, apply, merge
    from sparseclf.dask import _shares

    X, Y, _ = data
    start = SparseMLPClassifier(**PARAMS).partial_fit(X[:600], Y[:600])
    replicas = [pickle.loads(pickle.dumps(start)) for _ in range(3)]
    bases = [Base(r) for r in replicas]
    busy = list(range(n_busy))
    updates = []
    for i in busy:
        rows = slice(600 + 600 * i, 1200 + 600 * i)
        with bases[i].tracking(replicas[i]):
            replicas[i].partial_fit(X[rows], Y[rows])
        updates.append(bases[i].update(replicas[i]))
    for clf, base, share in zip(replicas, bases, _shares(updates, busy, 3, combine)):
        if share is not None:
            (add if combine == "sum" else apply)(clf, share, base)
    expected = pickle.loads(pickle.dumps(start))
    apply(expected, merge(updates, combine), Base(expected))
    for clf in replicas:
        net, want = _network(clf).network, _network(expected).network
        np.testing.assert_allclose(
            net.first_layer(), want.first_layer(), rtol=1e-5, atol=1e-6
        )
        for w, e in zip(net.weights[1:] + net.biases, want.weights[1:] + want.biases):
            np.testing.assert_allclose(w, e, rtol=1e-5, atol=1e-6)
        counts = _network(clf).sampler.label_counts
        np.testing.assert_array_equal(counts, _network(expected).sampler.label_counts)
