"""Datasets: the slide's insurance table, seeded generators, the registry, CSV errors, scaling, split."""

from __future__ import annotations

import numpy as np
import pytest

from app.ml.datasets import (
    DATASETS,
    INSURANCE_ROWS,
    Standardizer,
    insurance,
    make_dataset,
    parse_csv,
    train_val_split,
)
from app.ml.errors import ConfigError, UnknownNameError

SLIDE = """age,affordability,have_insurance
22,1,0
25,0,0
47,1,1
52,0,0
46,1,1
56,1,1
55,0,0
60,0,1
62,1,1
61,1,1
18,1,0
28,1,0
27,0,1
"""


def test_insurance_holds_the_13_rows_of_the_slide_exactly() -> None:
    slide = parse_csv(SLIDE, ["age", "affordability"], "have_insurance")
    data = insurance()
    assert len(data) == 13 and data.feature_names == ("age", "affordability")
    np.testing.assert_array_equal(data.X, slide.X)
    np.testing.assert_array_equal(data.y, slide.y)
    assert np.column_stack([data.X, data.y]).astype(int).tolist() == [list(r) for r in INSURANCE_ROWS]


def test_generated_insurance_rows_follow_the_documented_rule() -> None:
    data = insurance(313, noise=0.0, seed=4)
    np.testing.assert_array_equal(data.X[:13], insurance().X)
    age, afford = data.X[13:, 0], data.X[13:, 1]
    assert age.min() >= 18 and age.max() <= 65 and set(np.unique(afford)) == {0.0, 1.0}
    expected = ((age - 45) / 5 + 3 * afford - 1.5 > 0).astype(int)
    np.testing.assert_array_equal(data.y[13:], expected)
    noisy = insurance(313, noise=1.0, seed=4)
    assert 0 < (noisy.y[13:] != expected).sum() < 100


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_dataset_is_seeded_and_matches_its_registry_entry(name: str) -> None:
    spec = DATASETS[name]
    a, b, c = (
        make_dataset(name, 100, 0.2, seed=1),
        make_dataset(name, 100, 0.2, seed=1),
        make_dataset(name, 100, 0.2, 2),
    )
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)
    assert a.task == spec.task and a.feature_names == spec.features and a.X.shape == (100, len(spec.features))
    assert np.isfinite(a.X).all() and len(a.y) == 100
    if a.task != "regression":
        assert set(np.unique(a.y)) == set(range(a.n_classes))


def test_noise_moves_points_and_zero_noise_is_clean() -> None:
    clean = make_dataset("xor", 200, 0.0)
    assert (np.sign(clean.X[:, 0] * clean.X[:, 1]) > 0).astype(int).tolist() == clean.y.tolist()
    assert not np.array_equal(clean.X, make_dataset("xor", 200, 0.3).X)


def test_make_dataset_errors_name_the_field() -> None:
    with pytest.raises(UnknownNameError) as info:
        make_dataset("moons")
    assert info.value.field == "dataset" and "circle" in info.value.message
    for kwargs, field in (({"n": 1}, "n"), ({"noise": 2.0}, "noise")):
        with pytest.raises(ConfigError) as info:
            make_dataset("circle", **kwargs)
        assert info.value.field == field


CSV_ERRORS = [
    (b"a,b\n\xff\xfe,1\n", {}, "file", "UTF-8"),
    ("", {}, "file", "empty"),
    ("1,2\n3,4\n", {}, "file", "header"),
    ("a,b\n", {}, "file", "no data rows"),
    ("a,b\n1,0\n2,1\n", {"target": "c"}, "target_column", "columns: a, b"),
    ("a,b\n1,0\n2,1\n", {"features": ["z"]}, "feature_columns.0", "columns: a, b"),
    ("a,b\n1,0\nx,1\n", {}, "feature_columns", "row 3, column 'a'"),
    ("a,b\n1,0\n,1\n", {}, "feature_columns", "missing"),
    ("a,b\n1,0\n2,NA\n", {}, "target_column", "missing"),
    ("a,b\n1,1\n2,1\n", {}, "target_column", "one class"),
    ("a,b\n" + "1,0\n2,1\n" * 6, {"max_rows": 10}, "file", "at most 10"),
    ("a,b\n1,0\n2,1\n", {"max_bytes": 5}, "file", "bytes"),
    (",,\n", {}, "file", "no values"),
    (",,\n\n , ,\n", {}, "file", "no values"),
    ("a,b\n" + "1" * 131_073 + ",0\n2,1\n", {}, "file", "longer than 131,072 characters"),
    ("a,b\n1,0\n\udcff,1\n", {}, "file", "lone surrogate, U+DCFF"),
    ("a,\udcff\n1,0\n", {"max_bytes": 5}, "file", "bytes"),
]


@pytest.mark.parametrize(("text", "options", "field", "words"), CSV_ERRORS)
def test_csv_upload_errors_are_readable_and_name_the_field(text, options, field, words) -> None:
    kwargs = {k: v for k, v in options.items() if k in ("max_rows", "max_bytes")}
    with pytest.raises(ConfigError) as info:
        parse_csv(text, options.get("features"), options.get("target", "b"), **kwargs)
    assert info.value.field == field and words in info.value.message, info.value.message


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_csv_rows_end_at_any_line_ending(ending: str) -> None:
    """Old Mac Excel ends rows with a bare CR; it parses like LF and CRLF."""
    text = ending.join(["a,y", "1,0", "2,1", ""])
    dataset = parse_csv(text, None, "y")
    assert dataset.X.tolist() == [[1.0], [2.0]] and dataset.y.tolist() == [0, 1]


def test_csv_upload_infers_the_task() -> None:
    assert parse_csv("x,y\n1,0.5\n2,1.5\n", None, "y").task == "regression"
    three = parse_csv("x,y\n1,3\n2,5\n3,7\n", None, "y")
    assert three.task == "multiclass" and three.y.tolist() == [0, 1, 2] and three.n_classes == 3


def test_standardizer_is_fitted_on_training_rows_only() -> None:
    data = make_dataset("insurance", 200)
    X_tr, _, X_va, _ = train_val_split(data.X, data.y, 0.25, seed=3)
    scaler = Standardizer.fit(X_tr)
    np.testing.assert_allclose(scaler.transform(X_tr).mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(scaler.transform(X_tr).std(axis=0), 1, atol=1e-12)
    np.testing.assert_allclose(scaler.transform(X_va), (X_va - X_tr.mean(0)) / X_tr.std(0))
    np.testing.assert_allclose(scaler.inverse(scaler.transform(X_va)), X_va)


def test_split_is_seeded_and_disjoint() -> None:
    X, y = np.arange(100.0)[:, None], np.arange(100)
    a, b = train_val_split(X, y, 0.2, seed=1), train_val_split(X, y, 0.2, seed=1)
    assert len(a[1]) == 80 and len(a[3]) == 20 and a[3].tolist() == b[3].tolist()
    assert sorted(a[1].tolist() + a[3].tolist()) == list(range(100))
    assert a[3].tolist() != train_val_split(X, y, 0.2, seed=2)[3].tolist()
