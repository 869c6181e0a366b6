"""Seeded datasets for the network views: the course's insurance table, 2-D toy sets, a 1-D regression set,
CSV uploads, standardisation and the train/validation split.

Every generator takes ``(n, noise, seed)`` and returns the same rows for the same arguments. Labels
are integers (0/1, or 0..C-1 for blobs); regression targets are floats. No file or network I/O here:
``parse_csv`` takes the uploaded text or bytes.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.ml.errors import ConfigError, UnknownNameError

INSURANCE_COLUMNS = ("age", "affordability", "have_insurance")
INSURANCE_ROWS: tuple[tuple[int, int, int], ...] = (
    (22, 1, 0),
    (25, 0, 0),
    (47, 1, 1),
    (52, 0, 0),
    (46, 1, 1),
    (56, 1, 1),
    (55, 0, 0),
    (60, 0, 1),
    (62, 1, 1),
    (61, 1, 1),
    (18, 1, 0),
    (28, 1, 0),
    (27, 0, 1),
)
"""The table on the course's epoch slide, row for row (two rows break the pattern: 55/0 → 0, 27/0 → 1)."""
INSURANCE_DEFAULT_N = 875
"""The slide's setting: 875 rows with a 0.2 validation share leave 700 training rows, 22 batches of 32."""


@dataclass(frozen=True)
class Dataset:
    """Features ``X`` (N, F) float64 and targets ``y`` (N,): int labels or float values."""

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target_name: str
    task: str  # "regression" | "binary" | "multiclass"
    n_classes: int = 0  # 0 for regression
    slide_rows: int = 0  # the first this many rows are a course slide's table (shown row by row)

    def __len__(self) -> int:
        return len(self.y)


# --------------------------------------------------------------------------- insurance


def insurance(n: int = 13, noise: float = 1.0, seed: int = 0) -> Dataset:
    """The slide's 13 rows first, then ``n - 13`` seeded rows with the same pattern.

    Rule for the generated rows: age uniform in 18..65, affordability 1 with probability 1/2, and
    ``have_insurance = 1`` when ``(age - 45) / 5 + 3 * affordability - 1.5 + noise * e > 0`` with
    ``e`` standard logistic noise. Without noise: able to afford and older than 37.5, or unable to
    afford and older than 52.5 (older and able to afford → insured). The slide's rows fit this rule
    except the two noted above.
    """
    if n < 13:
        raise ConfigError("the insurance set holds at least the slide's 13 rows", "n")
    rng = np.random.default_rng(seed)
    extra = n - 13
    age = rng.integers(18, 66, size=extra).astype(np.float64)
    afford = (rng.random(extra) < 0.5).astype(np.float64)
    u = rng.random(extra).clip(1e-12, 1 - 1e-12)
    score = (age - 45.0) / 5.0 + 3.0 * afford - 1.5 + noise * np.log(u / (1.0 - u))
    table = np.array(INSURANCE_ROWS, dtype=np.float64)
    X = np.concatenate([table[:, :2], np.stack([age, afford], axis=1)])
    y = np.concatenate([table[:, 2], (score > 0).astype(np.float64)]).astype(np.intp)
    return Dataset(X, y, INSURANCE_COLUMNS[:2], INSURANCE_COLUMNS[2], "binary", 2, len(INSURANCE_ROWS))


# --------------------------------------------------------------------------- 2-D sets


def _jitter(rng: np.random.Generator, points: np.ndarray, scale: float) -> np.ndarray:
    return points + rng.normal(0.0, scale, size=points.shape) if scale > 0 else points


def circle(n: int = 400, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Class 1 inside radius 2, class 0 on a ring at radius 3.5 to 5; Gaussian jitter of ``noise * 5``."""
    rng = np.random.default_rng(seed)
    inner = n // 2
    radius = np.concatenate([rng.uniform(0, 2.0, inner), rng.uniform(3.5, 5.0, n - inner)])
    angle = rng.uniform(0, 2 * np.pi, n)
    X = _jitter(rng, np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1), noise * 5 / 3)
    y = np.concatenate([np.ones(inner), np.zeros(n - inner)]).astype(np.intp)
    return Dataset(X, y, ("x1", "x2"), "class", "binary", 2)


def xor(n: int = 400, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Uniform points in [-5, 5]² (kept 0.3 away from the axes); class 1 where ``x1 * x2 > 0``."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.3, 5.0, size=(n, 2)) * rng.choice([-1.0, 1.0], size=(n, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.intp)
    return Dataset(_jitter(rng, X, noise * 5 / 3), y, ("x1", "x2"), "class", "binary", 2)


def two_gaussians(n: int = 400, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two round clouds at (2, 2) (class 1) and (-2, -2) (class 0), std ``0.5 + 4 * noise``."""
    rng = np.random.default_rng(seed)
    half = n // 2
    y = np.concatenate([np.ones(half), np.zeros(n - half)]).astype(np.intp)
    centres = np.where(y[:, None] == 1, 2.0, -2.0)
    X = centres + rng.normal(0.0, 0.5 + 4.0 * noise, size=(n, 2))
    return Dataset(X, y, ("x1", "x2"), "class", "binary", 2)


def spiral(n: int = 400, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaved spiral arms (TensorFlow Playground's spiral), radius up to 5."""
    rng = np.random.default_rng(seed)
    half = n // 2
    t = np.concatenate([np.arange(half) / half, np.arange(n - half) / (n - half)]) * 5.0
    delta = np.concatenate([np.zeros(half), np.full(n - half, np.pi)])
    angle = 1.75 * t * 2 * np.pi / 5.0 + delta
    X = _jitter(rng, np.stack([t * np.sin(angle), t * np.cos(angle)], axis=1), noise * 5 / 3)
    y = np.concatenate([np.ones(half), np.zeros(n - half)]).astype(np.intp)
    return Dataset(X, y, ("x1", "x2"), "class", "binary", 2)


BLOB_CENTRES = np.array([[-3.0, -3.0], [3.0, 3.0], [3.0, -3.0], [-3.0, 3.0]])


def blobs(n: int = 400, noise: float = 0.1, seed: int = 0, n_classes: int = 3) -> Dataset:
    """``n_classes`` (2–4) round clouds at corners of a square, std ``0.5 + 4 * noise``; labels 0..C-1."""
    if not 2 <= n_classes <= len(BLOB_CENTRES):
        raise ConfigError(f"blobs has 2 to {len(BLOB_CENTRES)} classes, got {n_classes}", "n_classes")
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    X = BLOB_CENTRES[y] + rng.normal(0.0, 0.5 + 4.0 * noise, size=(n, 2))
    return Dataset(X, y.astype(np.intp), ("x1", "x2"), "class", "multiclass", n_classes)


def wave(n: int = 200, noise: float = 0.1, seed: int = 0) -> Dataset:
    """1-D regression: ``y = sin(1.5 x) + 0.3 x + noise * N(0, 1)`` for x uniform in [-3, 3]."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3.0, 3.0, n)
    y = np.sin(1.5 * x) + 0.3 * x + noise * rng.normal(size=n)
    return Dataset(x[:, None], y, ("x",), "y", "regression", 0)


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    task: str
    features: tuple[str, ...]
    note: str
    make: Callable[..., Dataset] = field(repr=False)
    default_n: int = 400


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "insurance",
            "Insurance (course slide)",
            "binary",
            ("age", "affordability"),
            "The slide's 13 people, then generated ones: older and able to afford → insured.",
            insurance,
            INSURANCE_DEFAULT_N,
        ),
        DatasetSpec(
            "circle",
            "Circle",
            "binary",
            ("x1", "x2"),
            "One class inside a ring of the other: needs a hidden layer.",
            circle,
        ),
        DatasetSpec(
            "xor", "XOR", "binary", ("x1", "x2"), "Opposite quadrants share a class: no line splits it.", xor
        ),
        DatasetSpec(
            "two_gaussians",
            "Two Gaussians",
            "binary",
            ("x1", "x2"),
            "Two clouds a straight line can separate: logistic regression is enough.",
            two_gaussians,
        ),
        DatasetSpec(
            "spiral",
            "Spiral",
            "binary",
            ("x1", "x2"),
            "Two interleaved arms: needs depth and patience.",
            spiral,
        ),
        DatasetSpec(
            "blobs",
            "Blobs (3 classes)",
            "multiclass",
            ("x1", "x2"),
            "Three clouds: softmax output and cross-entropy.",
            blobs,
        ),
        DatasetSpec(
            "wave",
            "Wave (regression)",
            "regression",
            ("x",),
            "A noisy sine on a slope: fit a curve with a linear output and MSE.",
            wave,
            200,
        ),
    )
}

MAX_ROWS = 5_000
MAX_ABS_VALUE = 1e15
"""Largest magnitude of an uploaded value: standardising squares the values, so 1e300 would overflow."""


def make_dataset(name: str, n: int | None = None, noise: float = 0.1, seed: int = 0) -> Dataset:
    """The named dataset with ``n`` rows (its default if None); errors name the field."""
    if name not in DATASETS:
        raise UnknownNameError("dataset", name, DATASETS, field="dataset")
    spec = DATASETS[name]
    n = spec.default_n if n is None else n
    if isinstance(n, bool) or not isinstance(n, int) or not 4 <= n <= MAX_ROWS:
        raise ConfigError(f"n must be a whole number from 4 to {MAX_ROWS}, got {n!r}", "n")
    if not (math.isfinite(noise) and 0 <= noise <= 1):
        raise ConfigError(f"noise must be between 0 and 1, got {noise!r}", "noise")
    if name == "insurance":
        return insurance(max(n, 13), noise * 10, seed)  # noise 0.1 → logistic scale 1
    return spec.make(n, noise, seed)


# --------------------------------------------------------------------------- CSV upload


def _decode(data: str | bytes) -> str:
    """The upload as text: bytes must be UTF-8; text must be valid Unicode (no lone surrogate)."""
    if isinstance(data, str):
        try:
            data.encode("utf-8")
        except UnicodeEncodeError as error:  # a lone surrogate, e.g. "\\udcff" in the JSON text
            raise ConfigError(
                f"the file is not valid Unicode text (character {error.start + 1:,} is a lone surrogate, "
                f"U+{ord(data[error.start]):04X}); save it as UTF-8 CSV",
                "file",
                key="csv.not_unicode",
            ) from None
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"the file is not UTF-8 text (byte {error.start} cannot be decoded); save it as UTF-8 CSV",
            "file",
            key="csv.not_utf8",
            params={"byte": error.start},
        ) from None


def _read_rows(text: str) -> list[list[str]]:
    """The non-blank rows; any line ending (\\n, \\r\\n, or \\r alone as old Mac Excel writes) ends a row."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return [r for r in reader if any(cell.strip() for cell in r)]
    except csv.Error as error:
        reason = str(error)
        if "field larger than field limit" in reason:
            reason = f"a cell is longer than {csv.field_size_limit():,} characters"
        raise ConfigError(
            f"row {reader.line_num}: the file is not valid CSV ({reason})",
            "file",
            key="csv.invalid",
            params={"row": reader.line_num, "reason": reason},
        ) from None


def parse_csv(
    data: str | bytes,
    feature_columns: Sequence[str] | None,
    target_column: str,
    max_rows: int = MAX_ROWS,
    max_bytes: int = 1_000_000,
    task: str | None = None,
) -> Dataset:
    """A Dataset from an uploaded CSV with a header row; every refusal is a ConfigError naming the field.

    ``feature_columns`` None means every column but the target. The task is inferred when not given:
    integer targets with at most 10 distinct values are classes (binary when 2), anything else is
    regression. Row numbers in messages count the header as row 1, as a spreadsheet shows them.
    """
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    if size > max_bytes:
        raise ConfigError(
            f"the file has {size:,} bytes; at most {max_bytes:,} are accepted",
            "file",
            key="csv.too_many_bytes",
            params={"size": size, "limit": max_bytes},
        )
    text = _decode(data)
    if not text.strip():
        raise ConfigError("the file is empty", "file", key="csv.empty")
    rows = _read_rows(text)
    if not rows:
        raise ConfigError(
            "the file holds no values, only separators and blank lines", "file", key="csv.no_values"
        )
    header = [h.strip() for h in rows[0]]
    if not header or all(_is_number(h) for h in header if h):
        raise ConfigError(
            "the first row must be a header naming the columns (it holds only numbers)",
            "file",
            key="csv.no_header",
        )
    body = rows[1:]
    if not body:
        raise ConfigError("the file has a header but no data rows", "file", key="csv.no_rows")
    if len(body) > max_rows:
        raise ConfigError(
            f"the file has {len(body):,} data rows; at most {max_rows:,} are accepted",
            "file",
            key="csv.too_many_rows",
            params={"rows": len(body), "limit": max_rows},
        )
    valid = ", ".join(header)
    if target_column not in header:
        raise ConfigError(
            f"no column {target_column!r}; columns: {valid}",
            "target_column",
            key="csv.no_column",
            params={"column": target_column, "columns": valid},
        )
    features = [c for c in header if c != target_column] if feature_columns is None else list(feature_columns)
    if not features:
        raise ConfigError("choose at least one feature column", "feature_columns", key="csv.no_features")
    for i, name in enumerate(features):
        if name not in header:
            raise ConfigError(
                f"no column {name!r}; columns: {valid}",
                f"feature_columns.{i}",
                key="csv.no_column",
                params={"column": name, "columns": valid},
            )
        if name == target_column:
            raise ConfigError(
                f"{name!r} is the target; it cannot also be a feature",
                f"feature_columns.{i}",
                key="csv.target_as_feature",
                params={"column": name},
            )
    wanted = [*features, target_column]
    index = [header.index(c) for c in wanted]
    values = np.empty((len(body), len(wanted)))
    for r, row in enumerate(body, start=2):
        for j, (col, name) in enumerate(zip(index, wanted, strict=True)):
            cell = row[col].strip() if col < len(row) else ""
            field_name = "target_column" if name == target_column else "feature_columns"
            where = {"row": r, "column": name, "value": cell}
            if cell == "" or cell.lower() in ("na", "nan", "null", "none"):
                raise ConfigError(
                    f"row {r}, column {name!r}: the value is missing",
                    field_name,
                    key="csv.missing",
                    params=where,
                )
            try:
                number = float(cell)
            except ValueError:
                raise ConfigError(
                    f"row {r}, column {name!r}: {cell!r} is not a number",
                    field_name,
                    key="csv.not_a_number",
                    params=where,
                ) from None
            if not math.isfinite(number):
                raise ConfigError(
                    f"row {r}, column {name!r}: {cell!r} is not a finite number",
                    field_name,
                    key="csv.not_finite",
                    params=where,
                )
            if abs(number) > MAX_ABS_VALUE:
                raise ConfigError(
                    f"row {r}, column {name!r}: {cell} is too large; values up to"
                    f" {MAX_ABS_VALUE:,.0f} in size are accepted (rescale the column, e.g. to thousands)",
                    field_name,
                    key="csv.too_large",
                    params={**where, "limit": MAX_ABS_VALUE},
                )
            values[r - 2, j] = number
    X, target = values[:, :-1], values[:, -1]
    task = task or _infer_task(target)
    if task == "regression":
        return Dataset(X, target, tuple(features), target_column, "regression", 0)
    classes = np.unique(target)
    if len(classes) < 2:
        raise ConfigError(
            f"the target {target_column!r} has one class only ({classes[0]:g}); "
            "a classifier needs two or more",
            "target_column",
            key="csv.one_class",
            params={"column": target_column, "value": f"{classes[0]:g}"},
        )
    labels = np.searchsorted(classes, target).astype(np.intp)
    kind = "binary" if len(classes) == 2 else "multiclass"
    return Dataset(X, labels, tuple(features), target_column, kind, len(classes))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _infer_task(target: np.ndarray) -> str:
    whole = bool(np.all(target == np.round(target)))
    return "regression" if not whole or len(np.unique(target)) > 10 else "classification"


# --------------------------------------------------------------------------- preparation


@dataclass(frozen=True)
class Standardizer:
    """``(x - mean) / std`` per feature, fitted on the training rows only (a constant column keeps std 1)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> Standardizer:
        std = X.std(axis=0)
        return cls(X.mean(axis=0), np.where(std > 0, std, 1.0))

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean) / self.std

    def inverse(self, X: np.ndarray) -> np.ndarray:
        return X * self.std + self.mean


def train_val_split(
    X: np.ndarray, y: np.ndarray, val_fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A seeded random split (not stratified): ``X_train, y_train, X_val, y_val``; at least one train row."""
    if not (math.isfinite(val_fraction) and 0 <= val_fraction < 1):
        raise ConfigError("the validation fraction must be in [0, 1)", "val_fraction")
    n = len(y)
    order = np.random.default_rng(seed).permutation(n)
    n_val = min(round(n * val_fraction), n - 1)
    val, train = order[:n_val], order[n_val:]
    return X[train], y[train], X[val], y[val]
