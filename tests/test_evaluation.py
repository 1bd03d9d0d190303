import numpy as np
import pytest

from fer_classic.data.labels import FER2013_CLASSES
from fer_classic.errors import ProtocolError
from fer_classic.evaluation.metrics import classification_metrics, learning_curve_rates
from fer_classic.training.protocols import make_splits


def _labels(n_per_class=30, classes=7):
    return np.repeat(np.arange(classes), n_per_class)


def test_usage_protocol_without_private_test_selects_on_a_tenth_of_training():
    y = _labels()
    usage = np.array(["Training"] * 150 + ["PublicTest"] * 60)
    (split,) = make_splits(y, usage, "usage", seed=1)
    train = np.flatnonzero(usage == "Training")
    assert set(split.fit) | set(split.validation) == set(train) and not set(split.fit) & set(split.validation)
    assert len(split.validation) == 15 and np.array_equal(split.refit, train)
    assert np.array_equal(split.test, np.flatnonzero(usage == "PublicTest"))
    assert split.test_name == "PublicTest"
    assert np.array_equal(make_splits(y, usage, "usage", seed=1)[0].validation, split.validation)
    assert not np.array_equal(make_splits(y, usage, "usage", seed=2)[0].validation, split.validation)


def test_usage_protocol_with_private_test_is_the_challenge_protocol():
    y = _labels()
    usage = np.array(["Training"] * 150 + ["PublicTest"] * 30 + ["PrivateTest"] * 30)
    (split,) = make_splits(y, usage, "usage")
    assert (split.validation_name, split.test_name) == ("PublicTest", "PrivateTest")
    assert set(usage[split.validation]) == {"PublicTest"} and set(usage[split.test]) == {"PrivateTest"}
    assert set(usage[split.fit]) == {"Training"}


def test_stratified_protocol_is_70_10_20_and_disjoint():
    y = _labels(100)
    (split,) = make_splits(y, np.array([""] * len(y)), "stratified", seed=42)
    assert (len(split.fit), len(split.validation), len(split.test)) == (490, 70, 140)
    assert not (set(split.fit) | set(split.validation)) & set(split.test)
    assert np.array_equal(np.bincount(y[split.test]), [20] * 7)


def test_kfold_tests_every_image_once():
    y = _labels(20)
    splits = make_splits(y, np.array([""] * len(y)), "kfold", folds=5)
    assert len(splits) == 5
    assert sorted(np.concatenate([s.test for s in splits])) == list(range(len(y)))
    for s in splits:
        assert not set(s.test) & set(s.refit) and not set(s.validation) & set(s.test)


@pytest.mark.parametrize("usage, protocol, message", [
    (np.array([""] * 210), "usage", "needs FER2013 usage"),
    (np.array(["Training"] * 210), "usage", "needs FER2013 usage"),
    (np.array([""] * 210), "kfold", None),
])
def test_protocol_errors(usage, protocol, message):
    y = _labels()
    if message is None:
        with pytest.raises(ProtocolError, match="at least 40 images of every class"):
            make_splits(y, usage, protocol, folds=40)
    else:
        with pytest.raises(ProtocolError, match=message):
            make_splits(y, usage, protocol)


def test_metrics_on_a_hand_worked_example():
    y_true = np.array([0, 0, 3, 3, 3, 6])
    y_pred = np.array([0, 3, 3, 3, 6, 6])
    m = classification_metrics(y_true, y_pred, FER2013_CLASSES)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["balanced_accuracy"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert m["labels"] == ["angry", "happy", "neutral"]
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 1], [0, 0, 1]]
    assert m["per_class"]["happy"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3,
                                                     "support": 3})


def test_learning_curve_rates_follow_their_definition():
    train = [0.1 * i for i in range(1, 21)]          # +0.1 per epoch
    val = [0.05 * i for i in range(1, 21)]           # +0.05 per epoch: the gap grows 0.05 per epoch
    rates = learning_curve_rates(train, val)
    assert [r["epochs"] for r in rates] == ["1-5", "6-10", "11-15", "16-20"]
    assert all(r["mcr"] == pytest.approx(0.1) and r["mofr"] == pytest.approx(0.05) for r in rates)
    assert len(learning_curve_rates(train[:7], val[:7])) == 2
