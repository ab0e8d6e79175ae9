"""churn_core.errors: every error is a ChurnCoreError and a built-in, and its message is actionable."""

from __future__ import annotations

import inspect
import re

import duckdb
import pandas as pd
import pytest

import churn_core as cc
from churn_core import errors
from churn_core.roles import detect_positive_label

BUILTIN = {
    cc.ParameterError: ValueError,
    cc.DataFormatError: ValueError,
    cc.SchemaError: ValueError,
    cc.ValidationError: ValueError,
    cc.StoreError: RuntimeError,
    cc.NotFoundError: LookupError,
    cc.DatabaseDamagedError: RuntimeError,
    cc.DatabaseForeignError: RuntimeError,
    cc.DatabaseNewerError: RuntimeError,
    cc.DiskFullError: RuntimeError,
    cc.LargeScoresError: RuntimeError,
}


def test_every_error_class_is_listed_here():
    defined = {obj for _, obj in inspect.getmembers(errors, inspect.isclass)
               if issubclass(obj, Exception) and obj.__module__ == errors.__name__}
    assert defined == {cc.ChurnCoreError, *BUILTIN}


@pytest.mark.parametrize(("error", "builtin"), [pytest.param(e, b, id=e.__name__) for e, b in BUILTIN.items()])
def test_error_subclasses_churn_core_error_and_a_builtin(error, builtin):
    assert issubclass(error, cc.ChurnCoreError)
    assert issubclass(error, builtin)
    kwargs = {"report": None} if error is cc.ValidationError else {}
    with pytest.raises(builtin, match="boom"):
        raise error("boom", code="x", **kwargs)


def test_error_carries_code_and_params():
    err = cc.SchemaError("The column 'x' is missing.", code="column_missing", column="x")
    assert (err.code, err.params, str(err)) == ("column_missing", {"column": "x"}, "The column 'x' is missing.")
    assert cc.ChurnCoreError("plain").code == "error"


def test_validation_error_carries_its_report():
    err = cc.ValidationError("bad", report="the report", name="f.csv")
    assert (err.code, err.report, err.params) == ("validation_failed", "the report", {"name": "f.csv"})


def _no_target_frame() -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})


def _newer_store(tmp_path):
    store = cc.Store(tmp_path / "new.duckdb")
    with duckdb.connect(str(store.path)) as con:
        con.execute("INSERT INTO schema_version VALUES (?, now())", [cc.store.SCHEMA_VERSION + 1])
    return cc.Store(store.path)


# (call, error class, code, the problem, what was received, how to fix it)
CASES = [
    pytest.param(lambda tmp: cc.read_table(b""), cc.DataFormatError, "empty_file",
                 "is empty", r"received 0 bytes", "Export the table again", id="empty-file"),
    pytest.param(lambda tmp: cc.read_table(bytes(range(256)) * 50, filename="x.csv"), cc.DataFormatError,
                 "binary_file", "not a text table", r"'x\.csv'.*binary data", "Upload a CSV", id="binary-file"),
    pytest.param(lambda tmp: cc.read_table(b"a,b\n1,2\n", max_bytes=4), cc.DataFormatError, "file_too_large",
                 "over the", r"is 8 bytes, over the 4 bytes limit", "Upload fewer rows", id="file-too-large"),
    pytest.param(lambda tmp: cc.read_table(b"a,b\n1,2\n", max_bytes=0), cc.ParameterError, "bad_parameter",
                 "'max_bytes' parameter", "Got 0 instead", "must be at least 1", id="bad-max-bytes"),
    pytest.param(lambda tmp: cc.read_table(tmp / "nope.csv"), cc.DataFormatError, "file_not_found",
                 "No file at", r"nope\.csv", "Check the path", id="file-not-found"),
    pytest.param(lambda tmp: cc.detect_roles(_no_target_frame(), target="churn"), cc.SchemaError,
                 "column_missing", "not in the table", r"Received the columns \['a', 'b'\]", "Pick one of those",
                 id="target-column-missing"),
    pytest.param(lambda tmp: detect_positive_label(["a", "b"], column="t"), cc.SchemaError, "positive_ambiguous",
                 "Cannot tell which value", r"Received the values \['a', 'b'\]", "Say which one means churn",
                 id="positive-ambiguous"),
    pytest.param(lambda tmp: cc.load_dataset(b"a,b\n1,x\n2,y\n", filename="f.csv"), cc.ValidationError,
                 "validation_failed", "No column looks like a churn target", r"Received the columns \['a', 'b'\]",
                 "Choose the target column", id="no-target"),
    pytest.param(lambda tmp: cc.Store(tmp / "s.duckdb").load_dataset(3), cc.NotFoundError, "dataset_not_found",
                 "no dataset version 3", r"Stored versions: \[\]", "Pick one of those", id="version-not-found"),
    pytest.param(_newer_store, cc.DatabaseNewerError, "db_newer", "newer than",
                 rf"schema version {cc.store.SCHEMA_VERSION + 1}", "Upgrade Churn Radar", id="db-newer"),
]


@pytest.mark.parametrize(("call", "error", "code", "problem", "received", "fix"), CASES)
def test_message_names_problem_received_and_fix(tmp_path, call, error, code, problem, received, fix):
    with pytest.raises(error, match=problem) as info:
        call(tmp_path)
    assert info.value.code == code
    assert re.search(received, str(info.value)), str(info.value)
    assert re.search(fix, str(info.value)), str(info.value)
