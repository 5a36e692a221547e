"""The command line on data shaped like real public datasets, and on hostile data."""

import gzip
import json
import re
import shlex
from io import StringIO

import numpy as np
import pytest

import glassnet as gn
from test_cli import assert_one_line_error, call, glassnet, inproc, validation_metrics

pd = pytest.importorskip("pandas")


def train(capsys, *args):
    return call(capsys, "train", *args, "--quiet")


@pytest.fixture(scope="module")
def penguins(tmp_path_factory):
    """Like palmerpenguins' CSV: NA written for missing numbers and sexes."""
    folder = tmp_path_factory.mktemp("penguins")
    rng = np.random.default_rng(0)
    n = 344
    species = rng.choice(["Adelie", "Gentoo", "Chinstrap"], n)
    bill = np.where(species == "Adelie", 39, np.where(species == "Gentoo", 47, 49)) + rng.normal(
        0, 2, n
    )
    rows = ["species,island,bill_length_mm,body_mass_g,sex,year"]
    for i in range(n):
        b = "NA" if i in (3, 271) else f"{bill[i]:.1f}"
        m = "NA" if i in (3, 271) else str(int(3500 + 400 * (species[i] == "Gentoo")))
        sex = "NA" if i % 30 == 3 else rng.choice(["male", "female"])
        rows.append(f"{species[i]},{rng.choice(['Biscoe', 'Dream'])},{b},{m},{sex},2008")
    path = folder / "penguins.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_penguins_na_text_is_never_silently_missing_and_one_message_says_every_fix(
    capsys, penguins, tmp_path
):
    code, _, err = train(capsys, penguins, "--target", "species", "--out", tmp_path / "m")
    assert_one_line_error(
        (code, "", err),
        "3 columns have missing values: 'bill_length_mm' (2 'NA': lines 5, 273); "
        "'body_mass_g' (2 'NA': lines 5, 273); 'sex' (12 'NA': lines 5, 35, 65, 95, 125 "
        "and 7 more)",
        "give --na-values NA --impute (",
    )
    code, out, err = train(  # the fix it names, and nothing else
        capsys,
        penguins,
        "--target",
        "species",
        "--na-values",
        "NA",
        "--impute",
        "--out",
        tmp_path / "m.glassnet",
    )
    assert code == 0, err
    assert validation_metrics(out).startswith("accuracy ")
    model = gn.load(tmp_path / "m.glassnet")
    assert model.features.kinds["sex"] == "categorical"
    sex = model.features.columns[-2]
    # NA is missing now, not a word: a level of its own, the empty string
    assert sex["categories"] == ["", "female", "male"] and sex["fill"] == ""
    assert "sex=(missing)" in model.features.output_names
    # the model reads 'NA' as its training did: predict, evaluate and explain need no
    # --na-values (and the Python API's predict marks the same texts)
    assert model.info["na_values"] == ["NA"]
    assert ", read as missing: 'NA'" in call(capsys, "inspect", tmp_path / "m.glassnet")[1]
    for command, *more in (("predict",), ("evaluate",), ("explain", "--row", 3)):
        code, _, err = call(capsys, command, tmp_path / "m.glassnet", penguins, *more)
        assert code == 0, (command, err)
    rows = pd.read_csv(penguins, keep_default_na=False, dtype=str).iloc[2:4]
    assert rows["sex"].tolist()[1] == "NA"
    assert len(model.predict(rows)) == 2


def test_seattle_weather_dates_become_numeric_parts(capsys, tmp_path):
    rng = np.random.default_rng(2)
    days = pd.date_range("2012-01-01", periods=600)
    temp = 12 - 8 * np.cos(2 * np.pi * days.day_of_year / 365) + rng.normal(0, 1, 600)
    frame = pd.DataFrame(
        {
            "date": days.strftime("%Y-%m-%d"),
            "precipitation": rng.exponential(3, 600).round(1),
            "temp_max": temp.round(1),
            "weather": np.where(temp > 14, "sun", "rain"),
        }
    )
    frame.to_csv(tmp_path / "seattle.csv", index=False)
    model = tmp_path / "w.glassnet"
    code, out, err = train(
        capsys, tmp_path / "seattle.csv", "--target", "temp_max", "--out", model, "--epochs", "80"
    )
    assert code == 0, err
    loaded = gn.load(model)
    assert loaded.features.kinds["date"] == "datetime"
    assert loaded.features.output_names == [
        "date.year", "date.month", "date.dayofweek", "date.dayofyear", "precipitation",
        "weather=rain", "weather=sun",
    ]  # fmt: skip
    code, out, _ = call(capsys, "inspect", model)
    assert (
        "date: date/time (ISO 8601) -> year, month, dayofweek, dayofyear, each standardised" in out
    )


def test_a_column_name_with_a_comma_is_named_in_quotes_and_the_fix_runs_as_printed(
    capsys, tmp_path
):
    rng = np.random.default_rng(1)
    n = 300
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {"order, id": [f"o{i:04d}" for i in range(n)], "x": x, "y": np.where(x > 0, "a", "b")}
    )
    frame.to_csv(tmp_path / "orders.csv", index=False)
    code, _, err = train(capsys, tmp_path / "orders.csv", "--target", "y", "--epochs", "1")
    assert code == 2 and "--ignore '\"order, id\"'" in err, err
    fix = shlex.split(re.search(r"leave it out with (.*), or keep", err).group(1))
    assert fix == ["--ignore", '"order, id"']
    code, _, err = train(capsys, tmp_path / "orders.csv", "--target", "y", "--epochs", "1", *fix,
                         "--out", tmp_path / "m.glassnet")  # fmt: skip
    assert code == 0, err
    assert gn.load(tmp_path / "m.glassnet").features.names == ["x"]
    # a list that is no line of CSV is one line of error, not an internal one
    for bad in ('"order, id', "a\nb"):
        code, _, err = train(capsys, tmp_path / "orders.csv", "--target", "y", "--ignore", bad)
        assert code == 2 and "as a list of names" in err and "Traceback" not in err, err
    # quoted names and plain ones side by side, in one option or repeated
    for given in (['"order, id",x'], ['"order, id"', "--ignore", "x"]):
        code, _, err = train(capsys, tmp_path / "orders.csv", "--target", "y", "--ignore",
                             *given, "--out", tmp_path / "m.glassnet")  # fmt: skip
        assert code == 2 and "no feature" in err, err


def test_quoted_thousands_commas_in_a_comma_separated_file_read_with_thousands_comma(
    capsys, tmp_path
):
    """A spreadsheet's export: "16,310" quoted in a comma-separated file. It is named as
    commas between thousands (not a decimal comma, 16.31), and --thousands , reads it,
    though the comma also separates the fields."""
    rng = np.random.default_rng(5)
    price = rng.integers(100, 2_000_000, 80)
    lines = ["price,town,y"] + [
        f'"{p:,}",{t},{"dear" if p > 900_000 else "cheap"}'
        for p, t in zip(price, rng.choice(["a", "b"], 80))
    ]
    path = tmp_path / "us.csv"
    path.write_text("\n".join(lines) + "\n")
    code, _, err = train(capsys, path, "--target", "y", "--epochs", "1")
    assert code == 2 and "'price' holds numbers written with commas between thousands" in err
    assert "give --thousands ,, or keep it as categories with --categorical price" in err
    model = tmp_path / "us.glassnet"
    code, _, err = train(capsys, path, "--target", "y", "--epochs", "1", "--thousands", ",",
                         "--out", model)  # fmt: skip
    assert code == 0, err
    loaded = gn.load(model)
    assert loaded.features.kinds["price"] == "numeric"
    assert loaded.features.columns[0]["mean"] == pytest.approx(np.median(price[:64]), rel=0.5)
    # predict reads the file as training did; without the mark, it names the fix
    code, out, err = call(capsys, "predict", model, path)
    assert code == 0 and "its data: --thousands , (give" in err, err
    plain = tmp_path / "plain.csv"
    plain.write_text('price,town\n"16,310",a\n"1,234,567",b\n')
    code, _, err = call(capsys, "predict", model, plain, "--thousands", "_")
    assert code == 2 and "if ',' marks thousands, give --thousands ," in err, err


def test_an_identifier_column_is_refused_at_once(tmp_path):
    n = 40_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "id": [f"u{i // 2:05d}" for i in range(n)],
            "x": rng.normal(size=n),
            "y": rng.choice(["a", "b"], n),
        }
    )
    frame.to_csv(tmp_path / "ids.csv", index=False)
    result = inproc(
        "train", tmp_path / "ids.csv", "--target", "y", "--quiet", "--out", tmp_path / "m.glassnet"
    )
    assert_one_line_error(result, "'id' has", "looks like an identifier", "--ignore id")
    result = inproc(
        "train",
        tmp_path / "ids.csv",
        "--target",
        "y",
        "--quiet",
        "--epochs",
        "1",
        "--max-categories",
        "50",
        "--out",
        tmp_path / "m.glassnet",
    )
    assert result.returncode == 0, result.stderr
    model = gn.load(tmp_path / "m.glassnet")
    (column,) = [c for c in model.features.columns if c["name"] == "id"]
    assert len(column["categories"]) == 49 and column["other"]  # 49 and "other"
    assert column["embed"] and model.network.input_size == 2  # the default recipe embeds it


def test_european_csv_latin1_semicolons_decimal_commas(capsys, tmp_path):
    rng = np.random.default_rng(3)
    lines = ["Stadt;Fläche;Preis"]
    for _ in range(200):
        area = rng.uniform(20, 200)
        city = rng.choice(["Köln", "München"])
        price = 3000 * area + (50000 if city == "Köln" else 0) + rng.normal(0, 1000)
        lines.append(
            f"{city};{area:.2f};{price:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
        )
    path = tmp_path / "preise.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    code, _, err = train(capsys, path, "--target", "Preis", "--out", tmp_path / "m")
    assert_one_line_error((code, "", err), "not UTF-8", "--encoding latin-1")
    model = tmp_path / "p.glassnet"
    code, out, err = train(
        capsys,
        path,
        "--target",
        "Preis",
        "--encoding",
        "latin-1",
        "--decimal",
        ",",
        "--thousands",
        ".",
        "--out",
        model,
        "--epochs",
        "300",
    )
    assert code == 0, err
    assert float(validation_metrics(out).split("R² ")[1].split(",")[0]) > 0.9
    loaded = gn.load(model)
    assert loaded.features.kinds == {"Stadt": "categorical", "Fläche": "numeric"}
    assert loaded.features.columns[0]["categories"] == ["Köln", "München"]
    assert loaded.info["read"] == {"encoding": "latin-1", "decimal": ",", "thousands": "."}
    code, shown, _ = call(capsys, "inspect", model)
    assert "read with --encoding latin-1 --decimal , --thousands ." in shown

    # predict, evaluate and explain read the file as training did, and say so
    given = ["--encoding", "latin-1", "--decimal", ",", "--thousands", "."]
    code, expected, err = call(capsys, "predict", model, path, *given)
    assert code == 0 and "as the model's training read" not in err, err
    code, out, err = call(capsys, "predict", model, path)
    assert code == 0 and out == expected, err
    said = f"reading {path} as the model's training read its data: --encoding latin-1 --decimal"
    assert said in err
    code, out, err = call(capsys, "evaluate", model, path, "--json")
    assert code == 0 and said in err and json.loads(out)["r2"] > 0.9, err
    code, out, err = call(capsys, "explain", model, path, "--row", "2")
    assert code == 0 and said in err, err
    # a UTF-8 copy is plainly UTF-8: read so, its cities the training's own
    utf8 = tmp_path / "preise-utf8.csv"
    utf8.write_text(path.read_bytes().decode("latin-1"), encoding="utf-8")
    code, out, err = call(capsys, "predict", model, utf8)
    assert code == 0 and out == expected, err
    assert "its data: --decimal , --thousands . (give" in err and "unseen" not in err
    # a mark given overrides the training's, and the other mark follows it
    plain = tmp_path / "preise-points.csv"
    plain.write_text("Stadt;Fläche\nKöln;1.234\nMünchen;20.25\n", encoding="utf-8")
    code, out, err = call(capsys, "predict", model, plain, "--decimal", ".")
    assert code == 0 and "its data:" not in err, err
    # read with the training's marks, 1.234 would be 1234: refused, with the fix
    code, out, err = call(capsys, "predict", model, plain)
    assert code == 2 and "'1.234'" in err and "'20.25'" in err and "--decimal ." in err, err


@pytest.mark.parametrize(
    ("labels", "spelled"),
    [
        (["001", "002"], ["001", "002"]),
        (["0.0", "1.0"], ["0.0", "1.0"]),
        (["TRUE", "FALSE"], ["FALSE", "TRUE"]),
    ],
)
def test_labels_come_back_as_the_file_spells_them(capsys, tmp_path, labels, spelled):
    rng = np.random.default_rng(0)
    x = rng.normal(size=100)
    lines = ["x,label"] + [f"{v:.4f},{labels[int(v > 0)]}" for v in x]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    model = tmp_path / "m.glassnet"
    code, _, err = train(
        capsys, tmp_path / "d.csv", "--target", "label", "--out", model, "--epochs", "20"
    )
    assert code == 0, err
    code, out, _ = call(capsys, "predict", model, tmp_path / "d.csv", "--proba")
    rows = out.strip().splitlines()
    assert rows[0] == "label," + ",".join(f"proba_{s}" for s in spelled)
    assert {r.split(",")[0] for r in rows[1:]} <= set(spelled)
    assert len({r.split(",")[0] for r in rows[1:]}) == 2


def test_integer_codes_as_categories_and_bounded_levels(capsys, tmp_path):
    rng = np.random.default_rng(4)
    n = 300
    frame = pd.DataFrame({"zone": rng.integers(1, 8, n), "level": rng.choice(list("abcdefgh"), n)})
    frame["y"] = (frame["zone"] % 2 == 0).map({True: "even", False: "odd"})
    frame.to_csv(tmp_path / "d.csv", index=False)
    model = tmp_path / "m.glassnet"
    code, _, err = train(
        capsys,
        tmp_path / "d.csv",
        "--target",
        "y",
        "--categorical",
        "zone",
        "--max-categories",
        "4",
        "--out",
        model,
        "--epochs",
        "2",
    )
    assert code == 0, err
    loaded = gn.load(model)
    assert loaded.features.kinds == {"zone": "categorical", "level": "categorical"}
    assert (
        len(loaded.features.columns[0]["categories"]) == 3 and loaded.features.columns[0]["other"]
    )
    code, _, err = train(capsys, tmp_path / "d.csv", "--target", "y", "--numeric", "level")
    assert_one_line_error(
        (code, "", err), "'level' is numeric (--numeric level) but holds the text", "'h'"
    )


@pytest.mark.parametrize(
    ("column", "fragment"),
    [
        (["1.5", "inf", "2"], "the target column 'y' holds an infinite value (lines 3, 6, 9"),
        (["1.5", "", "2"], "target column 'y' has missing values (10 empty: lines 3, 6, 9"),
    ],
)
def test_bad_targets_are_named(capsys, tmp_path, column, fragment):
    rows = ["x,y"] + [f"{i},{column[i % 3]}" for i in range(30)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    code, _, err = train(capsys, tmp_path / "d.csv", "--target", "y", "--task", "regression")
    assert_one_line_error((code, "", err), fragment)


def test_drop_missing_target(capsys, tmp_path):
    rows = ["x,y"] + [f"{i},{'' if i % 10 == 0 else i * 1.5}" for i in range(60)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    code, out, err = train(
        capsys,
        tmp_path / "d.csv",
        "--target",
        "y",
        "--drop-missing-target",
        "--epochs",
        "2",
        "--out",
        tmp_path / "m.glassnet",
    )
    assert code == 0, err
    assert "on 54 rows (6 without a target dropped)" in out


def test_an_infinite_feature_names_column_and_line(capsys, tmp_path):
    rows = ["x,y"] + [f"{'-inf' if i == 7 else i},{i % 2}" for i in range(30)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    code, _, err = train(capsys, tmp_path / "d.csv", "--target", "y")
    assert_one_line_error((code, "", err), "column 'x' holds an infinite value (line 9)")


def test_huge_values_and_huge_steps_never_write_a_broken_model(capsys, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=80) * 1e200
    pd.DataFrame({"x": x, "y": (x > 0).astype(int)}).to_csv(tmp_path / "d.csv", index=False)
    model = tmp_path / "m.glassnet"
    code, _, err = train(
        capsys, tmp_path / "d.csv", "--target", "y", "--out", model, "--epochs", "3"
    )
    assert code == 0, err
    before = model.read_bytes()
    gn.load(model)
    code, _, err = train(
        capsys,
        tmp_path / "d.csv",
        "--target",
        "y",
        "--out",
        model,
        "--optimizer",
        "sgd",
        "--lr",
        "1e300",
    )
    assert_one_line_error((code, "", err), "training stopped")
    assert model.read_bytes() == before  # the good model is still there


def test_a_feature_listed_twice_is_refused(capsys, tmp_path):
    (tmp_path / "d.csv").write_text("a,b,y\n1,2,0\n2,3,1\n3,4,0\n4,5,1\n")
    code, _, err = train(capsys, tmp_path / "d.csv", "--target", "y", "--features", "a,a")
    assert_one_line_error((code, "", err), "names column 'a' twice")


def test_the_summary_reports_the_restored_epoch(capsys, tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(80, 8)), columns=[f"f{i}" for i in range(8)])
    frame["y"] = rng.choice(["a", "b"], 80)
    frame.to_csv(tmp_path / "noise.csv", index=False)
    model = tmp_path / "m.glassnet"
    noise = (tmp_path / "noise.csv", "--target", "y", "--recipe", "small", "--hidden", "64,64")
    noise += ("--lr", "0.01")
    code, out, err = train(capsys, *noise, "--out", model)
    assert code == 0, err
    assert "stopped early" in out
    info = gn.load(model).info
    assert f"kept the weights of epoch {info['restored_epoch']}: loss " in out
    assert f"validation loss {info['epoch_val_loss']:.6g}" in out
    code, out, err = train(capsys, *noise, "--epochs", "300", "--no-early-stopping", "--out", model)
    assert code == 0
    assert "glassnet: warning: the validation loss rose from" in err and "overfits" in err


def test_the_summary_says_when_the_last_epoch_was_the_best_and_what_the_losses_measure(
    capsys, tmp_path
):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    frame["y"] = 2 * frame["a"] - frame["b"]
    frame["label"] = np.where(frame["y"] > 0, "up", "down")
    frame["noise"] = rng.normal(size=300)  # nothing to learn: an early epoch is the best
    frame.to_csv(tmp_path / "d.csv", index=False)
    # the small recipe (Adam at a constant 1e-3) is still learning after 3 epochs
    common = ("--ignore", "label,noise", "--recipe", "small", "--out", tmp_path / "m.glassnet")
    code, out, err = train(capsys, tmp_path / "d.csv", "--target", "y", "--epochs", "3", *common)
    assert code == 0, err
    assert gn.load(tmp_path / "m.glassnet").info["restored_epoch"] == 3
    assert "the last epoch was the best one: more epochs may help (--epochs 6" in out
    assert "smoothed" not in out  # a regression's loss is the mean squared error
    common = ("--ignore", "label,y", "--ensemble", "1", "--out", tmp_path / "d.glassnet")
    code, out, err = train(capsys, tmp_path / "d.csv", "--target", "noise", "--epochs", "8",
                           *common)  # fmt: skip
    assert code == 0, err
    assert gn.load(tmp_path / "d.glassnet").info["restored_epoch"] < 8
    assert "the last epoch was the best" not in out
    common = ("--ignore", "y,noise", "--epochs", "3", "--out", tmp_path / "c.glassnet")
    code, out, err = train(capsys, tmp_path / "d.csv", "--target", "label", *common)
    assert code == 0, err
    assert "(against labels smoothed by 0.1)" in out and "3 epochs of batches" in out
    # 300 rows: an ensemble, whose networks each keep their own best epoch
    assert "the first of the 3 networks kept the weights of epoch" in out
    shown = call(capsys, "inspect", tmp_path / "c.glassnet")[1]
    assert "(the first network's)" in shown and "(against labels smoothed by 0.1)" in shown
    code, out, err = train(
        capsys, tmp_path / "d.csv", "--target", "label", "--recipe", "small", *common
    )
    assert code == 0, err
    assert "smoothed" not in out


def test_predict_reads_compressed_stdin_and_parquet_the_same(capsys, tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=50), "b": rng.choice(["x", "y"], 50)})
    frame["y"] = np.where(frame["a"] > 0, "p", "q")
    frame.to_csv(tmp_path / "d.csv", index=False)
    model = tmp_path / "m.glassnet"
    code, _, err = train(
        capsys, tmp_path / "d.csv", "--target", "y", "--out", model, "--epochs", "2"
    )
    assert code == 0, err
    frame.drop(columns="y").to_parquet(tmp_path / "d.parquet")
    with gzip.open(tmp_path / "d.csv.gz", "wt") as f:
        frame.to_csv(f, index=False)
    outputs = []
    for data in ("d.csv", "d.parquet", "d.csv.gz"):
        code, out, err = call(capsys, "predict", model, tmp_path / data, "--keep", "b")
        assert code == 0, err
        outputs.append(out)
    piped = glassnet("predict", model, "-", "--keep", "b", input=(tmp_path / "d.csv").read_text())
    assert outputs[0] == outputs[1] == outputs[2] == piped.stdout
    table = pd.read_csv(StringIO(outputs[0]))
    assert list(table.columns) == ["b", "y"]


def test_predict_in_chunks_equals_predict_at_once(capsys, tmp_path):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.choice(["x", "y", "z"], 300)})
    frame["t"] = frame["a"] * 2.0
    frame.to_csv(tmp_path / "d.csv", index=False)
    model = tmp_path / "m.glassnet"
    train(capsys, tmp_path / "d.csv", "--target", "t", "--out", model, "--epochs", "2")
    _, whole, _ = call(capsys, "predict", model, tmp_path / "d.csv", "--chunk-rows", "100000")
    _, chunked, _ = call(capsys, "predict", model, tmp_path / "d.csv", "--chunk-rows", "7")
    a, b = pd.read_csv(StringIO(whole)), pd.read_csv(StringIO(chunked))
    assert len(a) == len(b) == 300
    # BLAS rounds by rows: the same to the network's float precision
    tol = 1e-5 if gn.load(model).network.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(a["t"], b["t"], rtol=tol, atol=tol)


def test_unseen_values_warn_once_per_column(capsys, tmp_path):
    frame = pd.DataFrame({"a": np.arange(40.0), "b": ["x", "y"] * 20, "y": [0, 1] * 20})
    frame.to_csv(tmp_path / "d.csv", index=False)
    model = tmp_path / "m.glassnet"
    train(capsys, tmp_path / "d.csv", "--target", "y", "--out", model, "--epochs", "1")
    frame.assign(b="new").to_csv(tmp_path / "new.csv", index=False)
    code, _, err = call(capsys, "predict", model, tmp_path / "new.csv", "--chunk-rows", "5")
    assert code == 0
    assert err.count("never seen in training ('new')") == 1


def test_numbers_with_decimal_commas_are_named_with_the_option_that_reads_them(capsys, tmp_path):
    rng = np.random.default_rng(0)
    a, b = 30 + 20 * rng.random(300), 10 + 10 * rng.random(300)
    lines = ["a;b;species"] + [
        f"{x:.1f};{y:.1f};{'big' if x > 40 else 'small'}".replace(".", ",") for x, y in zip(a, b)
    ]
    data = tmp_path / "eu.csv"
    data.write_text("\n".join(lines) + "\n")
    result = call(capsys, "train", data, "--target", "species", "--out", tmp_path / "m")
    assert_one_line_error(
        result, "'a', 'b' hold numbers written with a decimal comma", "--decimal ,"
    )
    assert "identifier" not in result[2]
    assert not (tmp_path / "m").exists()


def test_a_few_numbers_with_decimal_commas_are_not_taken_for_categories(capsys, tmp_path):
    """Ten distinct values, far from an identifier: still numbers read as text, refused
    with the options that read them, unless the column is declared categorical."""
    rng = np.random.default_rng(1)
    carat = rng.choice([0.2, 0.3, 0.5, 0.7, 0.9, 1.0, 1.2, 1.5, 2.0, 2.5], 300)
    lines = ["carat;cut;price"] + [
        f"{str(c).replace('.', ',')};{'good' if i % 3 else 'fair'};{1000 * c:.0f}"
        for i, c in enumerate(carat)
    ]
    data = tmp_path / "eu.csv"
    data.write_text("\n".join(lines) + "\n")
    result = call(capsys, "train", data, "--target", "price", "--out", tmp_path / "m")
    assert_one_line_error(
        result, "'carat' holds numbers written with a decimal comma (such as '", "--decimal ,"
    )
    assert "--categorical carat" in result[2]
    assert not (tmp_path / "m").exists()
    declared = call(
        capsys, "train", data, "--target", "price", "--categorical", "carat",
        "--epochs", "1", "--out", tmp_path / "m",
    )  # fmt: skip
    assert declared[0] == 0, declared[2]
    read = call(capsys, "train", data, "--target", "price", "--decimal", ",", "--epochs", "1",
                "--out", tmp_path / "m2")  # fmt: skip
    assert read[0] == 0, read[2]
    assert "carat: numeric" in call(capsys, "inspect", tmp_path / "m2")[1]


# -- R-style files: NA for missing, dates as people write them, IDs, integer categories -------


def r_style(folder, n=300, seed=0, ambiguous=False):
    """A CSV as R's write.csv leaves it: NA for missing numbers and labels, empty cells,
    birth dates written 02/12/1977 (day first; all days below 13 when ``ambiguous``),
    visit times 12.02.2020 14:05, a text case id, integer region codes."""
    rng = np.random.default_rng(seed)
    rows = ["caseid,birth,visit,region,score,income,outcome"]
    for i in range(n):
        day = rng.integers(1, 13) if ambiguous else rng.integers(1, 29)
        birth = f"{day:02d}/{rng.integers(1, 13):02d}/{rng.integers(1950, 2000)}"
        visit = f"{rng.integers(1, 29):02d}.{rng.integers(1, 13):02d}.2020 {rng.integers(8, 18)}:05"
        score = "NA" if i % 37 == 5 else f"{rng.normal(50, 10):.1f}"
        income = "" if i % 53 == 7 else f"{rng.normal(3e4, 5e3):.0f}"
        outcome = "NA" if i % 71 == 9 else ("yes" if rng.random() > 0.5 else "no")
        rows.append(f"c{1000 + i},{birth},{visit},{rng.integers(1, 6)},{score},{income},{outcome}")
    path = folder / ("r_ambiguous.csv" if ambiguous else "r.csv")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_an_r_style_file_needs_one_more_try(capsys, tmp_path):
    path = r_style(tmp_path)
    code, _, err = train(capsys, path, "--target", "outcome", "--out", tmp_path / "m.glassnet")
    assert_one_line_error(
        (code, "", err),
        "2 problems with the data: (1) 2 columns have missing values: 'score' (8 'NA': lines "
        "7, 44, 81, 118, 155 and 3 more); 'income' (6 empty: lines 9, 62, 115, 168, 221 and 1 "
        "more); and the target column 'outcome' has missing values (5 'NA': lines 11, 82, 153, "
        "224, 295)",
        "give --na-values NA --impute --drop-missing-target (",
        "(2) 'caseid' has 236 distinct values in the 236 training rows",
        "--ignore caseid",
    )
    code, out, err = train(capsys, path, "--target", "outcome", "--out", tmp_path / "m.glassnet",
                           "--na-values", "NA", "--impute", "--drop-missing-target", "--ignore",
                           "caseid", "--epochs", "3")  # fmt: skip
    assert code == 0, err
    assert "on 295 rows (5 without a target dropped)" in out
    model = gn.load(tmp_path / "m.glassnet")
    assert model.features.kinds == {
        "birth": "datetime",
        "visit": "datetime",
        "region": "numeric",
        "score": "numeric",
        "income": "numeric",
    }
    formats = {c["name"]: c.get("format") for c in model.features.columns}
    assert formats["birth"] == "%d/%m/%Y" and formats["visit"] == "%d.%m.%Y %H:%M"


def test_ambiguous_dates_say_how_to_choose_and_the_model_reads_them_so(capsys, tmp_path):
    path = r_style(tmp_path, ambiguous=True)
    fixes = ["--na-values", "NA", "--impute", "--drop-missing-target", "--ignore", "caseid"]
    code, _, err = train(capsys, path, "--target", "outcome", *fixes)
    assert_one_line_error(
        (code, "", err),
        "'birth' (such as '",
        "holds dates whose day and month cannot be told apart (no value above 12 in either "
        "place); say which comes first with --date-format %d/%m/%Y, or --date-format %m/%d/%Y",
    )
    assert "identifier" not in err  # dates, not an identifier
    model_path = tmp_path / "m.glassnet"
    code, _, err = train(capsys, path, "--target", "outcome", *fixes, "--date-format",
                         "birth=%d/%m/%Y", "--out", model_path, "--epochs", "2")  # fmt: skip
    assert code == 0, err
    model = gn.load(model_path)
    birth = next(c for c in model.features.columns if c["name"] == "birth")
    assert birth["format"] == "%d/%m/%Y"
    # predict reads 03/04/1990 as the 3rd of April, as training read its dates
    new = pd.read_csv(path, dtype=str, keep_default_na=False).iloc[:2].copy()
    new["birth"] = ["03/04/1990", "04/03/1990"]
    X, _ = model.transform(new)
    month = model.features.output_names.index("birth.month")
    part = next(p for p in birth["parts"] if p["part"] == "month")
    z = standardised(X[:, month].astype(np.float64), birth)
    assert z * part["std"] + part["mean"] == pytest.approx([4, 3], rel=1e-5)
    # the same from Python: date_format, and the data decides when it can
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    fitted = gn.TabularModel.fit(frame, "outcome", epochs=1, na_values=["NA"], impute=True,
                                 drop_missing_target=True, ignore=["caseid"],
                                 date_format={"birth": "%m/%d/%Y"})  # fmt: skip
    assert {c["name"]: c.get("format") for c in fitted.features.columns}["birth"] == "%m/%d/%Y"


def test_a_unique_date_on_every_row_is_a_date_not_an_identifier(capsys, tmp_path):
    days = pd.date_range("1990-01-01", periods=400, freq="37h")
    frame = pd.DataFrame({"when": days.strftime("%d/%m/%Y %H:%M"), "y": np.arange(400) % 2})
    frame.to_csv(tmp_path / "d.csv", index=False)
    code, _, err = train(capsys, tmp_path / "d.csv", "--target", "y", "--epochs", "1", "--out",
                         tmp_path / "m.glassnet")  # fmt: skip
    assert code == 0, err
    assert gn.load(tmp_path / "m.glassnet").features.kinds == {"when": "datetime"}


def test_counts_and_lines_are_those_of_the_whole_file(capsys, tmp_path):
    from glassnet.tabular.recipe import Recipe

    n = 200
    labels = np.array(["a", "b"] * (n // 2))
    _, validation = Recipe().split(n, (labels == "b").astype(np.int64))
    held = sorted(validation[:2].tolist())  # two rows of the validation split
    x = np.arange(n).astype(str).astype(object)
    x[held] = "NA"
    frame = pd.DataFrame({"x": x, "id": [f"p{i}" for i in range(n)], "y": labels})
    frame.to_csv(tmp_path / "d.csv", index=False)
    code, _, err = train(capsys, tmp_path / "d.csv", "--target", "y")
    lines = ", ".join(str(i + 2) for i in held)
    assert_one_line_error((code, "", err), f"'x' (2 'NA': lines {lines})",
                          "'id' has 160 distinct values in the 160 training rows")  # fmt: skip


def standardised(encoded, column: dict):
    """A date part's standardised value, from its encoding: the default recipe clips it
    smoothly, y = z / sqrt(1 + (z / c)^2), so z = y / sqrt(1 - (y / c)^2)."""
    clip = column.get("clip")
    return encoded / np.sqrt(1 - (encoded / clip) ** 2) if clip else encoded


def test_dates_past_2262_keep_their_calendar_in_memory_streamed_and_at_prediction(tmp_path):
    import datetime as dt

    from glassnet.tabular import TabularModel
    from glassnet.tabular.reading import read_table

    rng = np.random.default_rng(3)
    n = 120
    ends = [("9999-12-31" if i % 4 == 0 else f"{rng.integers(1990, 2020)}-06-15") for i in range(n)]
    frame = pd.DataFrame({"end": ends, "x": rng.normal(size=n), "y": rng.choice(["a", "b"], n)})
    frame.to_csv(tmp_path / "d.csv", index=False)
    memory = TabularModel.fit(read_table(str(tmp_path / "d.csv")), "y", epochs=1, val_split=0)
    streamed = TabularModel.fit_stream(str(tmp_path / "d.csv"), "y", epochs=1, val_split=0,
                                       chunk_rows=7)  # fmt: skip
    years = np.array([dt.date.fromisoformat(e).year for e in ends], dtype=float)
    for model in (memory, streamed):
        (end,) = [c for c in model.features.columns if c["name"] == "end"]
        year = next(p for p in end["parts"] if p["part"] == "year")
        assert year["mean"] == pytest.approx(years.mean(), rel=1e-12)
        assert year["std"] == pytest.approx(years.std(), rel=1e-12)
    X, _ = memory.features.transform({"end": ["9999-12-31"], "x": [0.0]}, dtype=np.float64)
    (end,) = [c for c in memory.features.columns if c["name"] == "end"]
    parts = {p["part"]: p for p in end["parts"]}
    names = memory.features.output_names
    for part, value in (("year", 9999), ("month", 12), ("dayofweek", 4), ("dayofyear", 365)):
        z = standardised(X[0, names.index(f"end.{part}")], end)
        got = z * parts[part]["std"] + parts[part]["mean"]
        assert got == pytest.approx(value), part


def test_predict_and_evaluate_fill_a_missing_cell_when_asked(capsys, tmp_path):
    rng = np.random.default_rng(5)
    n = 80
    frame = pd.DataFrame({"x": rng.normal(size=n), "kind": rng.choice(["p", "q"], n)})
    frame["y"] = np.where(frame["x"] > 0, "up", "down")
    frame.to_csv(tmp_path / "d.csv", index=False)
    model = tmp_path / "m.glassnet"
    code, _, err = train(capsys, tmp_path / "d.csv", "--target", "y", "--epochs", "2", "--out",
                         model)  # fmt: skip
    assert code == 0, err
    holes = frame.copy().astype(object)
    holes.loc[3, "x"] = ""
    holes.loc[[5, 9], "kind"] = ""
    holes.to_csv(tmp_path / "holes.csv", index=False)
    for command in ("predict", "evaluate"):
        code, out, err = call(capsys, command, model, tmp_path / "holes.csv")
        assert_one_line_error((code, out, err), "2 columns have missing values",
                              "give --impute to fill them")  # fmt: skip
        code, out, err = call(capsys, command, model, tmp_path / "holes.csv", "--impute")
        assert code == 0, err
        assert err.strip().splitlines() == [
            "glassnet: warning: filled 3 missing cells with the training statistics "
            "('x': 1, 'kind': 2)"
        ]
    assert len(call(capsys, "predict", model, tmp_path / "holes.csv", "--impute")[1].split()) == 81
    # a model trained with --impute fills them unasked, and says so all the same
    imputing = tmp_path / "imputing.glassnet"
    code, _, err = train(capsys, tmp_path / "d.csv", "--target", "y", "--epochs", "2",
                         "--impute", "--out", imputing)  # fmt: skip
    assert code == 0, err
    for command in ("predict", "evaluate"):
        code, out, err = call(capsys, command, imputing, tmp_path / "holes.csv")
        assert code == 0, err
        assert "filled 3 missing cells with the training statistics ('x': 1, 'kind': 2)" in err


def test_impute_from_python_says_so_through_the_glassnet_logger(caplog):
    frame = pd.DataFrame({"x": np.arange(20.0), "y": ["a", "b"] * 10})
    model = gn.TabularModel.fit(frame, "y", epochs=1)
    with pytest.raises(ValueError, match="give impute=True"):  # Python's spelling of the fix
        model.predict({"x": [1.0, None]})
    with caplog.at_level("INFO", logger="glassnet"):
        labels = model.predict({"x": [1.0, None]}, impute=True)
    assert len(labels) == 2
    (record,) = [r for r in caplog.records if r.name.startswith("glassnet")]
    assert record.getMessage() == "filled 1 missing cell with the training statistics ('x': 1)"
    assert record.levelname == "INFO"  # asked for: no warning on every call
    assert model.predict_proba({"x": [None]}, impute=True).shape == (1, 2)
    assert model.evaluate({"x": [None, 3.0], "y": ["a", "b"]}, impute=True)["rows"] == 2
    # a word that means missing, as predict --na-values and evaluate --drop-missing-target
    with pytest.raises(ValueError, match=r"give na_values=\['n/a'\] \(and impute=True"):
        model.predict({"x": [1.0, "n/a"]})
    same = model.predict_proba({"x": [1.0, "n/a"]}, na_values=["n/a"], impute=True)
    assert np.array_equal(same, model.predict_proba({"x": [1.0, None]}, impute=True))
    with pytest.raises(ValueError, match=r"drop_missing_target=True leaves them out"):
        model.evaluate({"x": [1.0, 2.0, 3.0], "y": ["a", None, "b"]})
    dropped = model.evaluate(
        {"x": [1.0, 2.0, 3.0], "y": ["a", None, "b"]}, drop_missing_target=True
    )
    assert dropped == model.evaluate({"x": [1.0, 3.0], "y": ["a", "b"]})


def test_values_never_seen_in_training_warn_from_python(caplog):
    frame = pd.DataFrame({"town": ["north", "south"] * 10, "y": ["a", "b"] * 10})
    model = gn.TabularModel.fit(frame, "y", epochs=1)
    for predict in (model.predict, model.predict_proba):
        caplog.clear()
        with caplog.at_level("WARNING", logger="glassnet"):
            predict({"town": ["north", "east"]})
        (record,) = [r for r in caplog.records if r.name.startswith("glassnet")]
        assert "'town'" in record.getMessage() and "'east'" in record.getMessage()
    caplog.clear()
    with caplog.at_level("WARNING", logger="glassnet"):
        model.evaluate({"town": ["east"], "y": ["a"]})
    assert ["'east'" in r.getMessage() for r in caplog.records] == [True]


def test_a_word_in_a_numeric_column_names_categorical_and_evaluate_warns_once(capsys, tmp_path):
    rng = np.random.default_rng(6)
    n = 90
    frame = pd.DataFrame({"cyl": rng.choice([4, 6, 8], n), "make": rng.choice(["vw", "bmw"], n)})
    frame["mpg_class"] = np.where(frame["cyl"] > 5, "low", "high")
    frame.to_csv(tmp_path / "cars.csv", index=False)
    model = tmp_path / "m.glassnet"
    code, _, err = train(capsys, tmp_path / "cars.csv", "--target", "mpg_class", "--epochs", "2",
                         "--out", model)  # fmt: skip
    assert code == 0, err
    mazda = frame.copy().astype(object)
    mazda.loc[4, "cyl"] = "rotary"
    mazda.to_csv(tmp_path / "mazda.csv", index=False)
    code, out, err = call(capsys, "predict", model, tmp_path / "mazda.csv")
    assert_one_line_error((code, out, err), "column 'cyl' was numeric in training, but line 6 "
                          "holds 'rotary'", "train again with --categorical cyl")  # fmt: skip
    new = frame.copy()
    new.loc[[3, 70], "make"] = "mazda"
    new.to_csv(tmp_path / "new.csv", index=False)
    code, out, err = call(capsys, "evaluate", model, tmp_path / "new.csv", "--chunk-rows", "10")
    assert code == 0, err
    (warning,) = err.strip().splitlines()
    assert warning.startswith("glassnet: warning: column 'make' has value never seen in training")
    assert warning.endswith("(warned once per column)")


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_a_number_the_network_cannot_compute_with_is_refused(capsys, tmp_path, task):
    rng = np.random.default_rng(7)
    n = 60
    frame = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    frame["y"] = (frame["x"] > 0).astype(int) if task == "classification" else frame["x"] * 3
    frame.to_csv(tmp_path / "d.csv", index=False)
    model = tmp_path / "m.glassnet"
    code, _, err = train(capsys, tmp_path / "d.csv", "--target", "y", "--task", task,
                         "--epochs", "2", "--recipe", "small", "--out", model)  # fmt: skip
    assert code == 0, err  # (the default recipe clips its inputs smoothly: see test_recipe)
    huge = frame.drop(columns="y").copy()
    huge.loc[4, "z"] = -1e308
    huge.to_csv(tmp_path / "huge.csv", index=False)
    code, out, err = call(capsys, "predict", model, tmp_path / "huge.csv")
    assert_one_line_error((code, out, err), "the network's output for line 6 is not a finite "
                          "number: column 'z' holds '-1e+308'")  # fmt: skip
    with pytest.raises(ValueError, match="column 'z'"):
        gn.load(model).predict(huge)


def test_a_one_hot_column_too_wide_for_memory_is_refused_before_it_is_allocated(tmp_path):
    n = 100_000
    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"city": rng.integers(0, 7_500, n).astype(str), "x": rng.normal(size=n)})
    frame["city"] = "c" + frame["city"]
    frame["y"] = rng.choice(["a", "b"], n)
    frame.to_csv(tmp_path / "wide.csv", index=False)
    result = inproc(
        "train",
        tmp_path / "wide.csv",
        "--target",
        "y",
        "--quiet",
        "--out",
        tmp_path / "m.glassnet",
        "--recipe",
        "small",
    )  # fmt: skip (default: embedded)
    assert_one_line_error(
        result,
        "'city' has 7500 levels, and one-hot encoding it for 100000 rows would take 11.2 GiB, "
        "more than the 1.0 GiB a column may take",
        "--max-categories 671 (or fewer: that many keep it within bounds)",
        "--ignore city",
    )


def test_a_row_index_written_with_the_data_is_refused_by_its_name(capsys, tmp_path):
    """pandas' to_csv without index=False writes the row numbers under a blank header: a
    column a model would learn nothing true from. A whole-number column with a name (a
    year per row) is a feature like any other."""
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"x": rng.normal(size=120), "year": np.arange(1900, 2020)})
    frame["y"] = np.where(frame["x"] > 0, "up", "down")
    frame.sample(frac=0.8, random_state=0).to_csv(tmp_path / "indexed.csv")  # with its index
    code, out, err = train(capsys, tmp_path / "indexed.csv", "--target", "y",
                           "--out", tmp_path / "m.glassnet")  # fmt: skip
    assert_one_line_error(
        (code, out, err),
        "column 'Unnamed: 0' has no header and a different whole number in every row",
        "leave it out with --ignore 'Unnamed: 0'",
    )
    code, out, err = train(capsys, tmp_path / "indexed.csv", "--target", "y", "--epochs", "2",
                           "--ignore", "Unnamed: 0", "--out", tmp_path / "m.glassnet")  # fmt: skip
    assert code == 0, err
    assert gn.load(tmp_path / "m.glassnet").features.kinds == {"x": "numeric", "year": "numeric"}


def test_a_score_of_a_few_whole_numbers_read_as_classes_says_how_to_predict_a_number(
    capsys, tmp_path
):
    rng = np.random.default_rng(9)
    frame = pd.DataFrame({"x": rng.normal(size=200)})
    frame["score"] = np.clip(np.round(frame["x"] * 2 + 5), 0, 10).astype(int)
    frame.to_csv(tmp_path / "d.csv", index=False)
    note = "whole numbers are read as"
    code, out, err = call(capsys, "train", tmp_path / "d.csv", "--target", "score",
                          "--epochs", "2", "--out", tmp_path / "m.glassnet")  # fmt: skip
    assert code == 0, err
    k = frame["score"].nunique()
    assert f"the target's {k} {note} {k} classes; --task regression predicts a number" in out
    for task in ("classification", "regression"):  # chosen: nothing to say
        code, out, err = call(capsys, "train", tmp_path / "d.csv", "--target", "score",
                              "--task", task, "--epochs", "2",
                              "--out", tmp_path / f"{task}.glassnet")  # fmt: skip
        assert code == 0, err
        assert note not in out


def test_fixes_given_one_flag_at_a_time_add_up_and_each_message_tells_the_client_what_to_give(
    capsys, tmp_path
):
    rng = np.random.default_rng(8)
    n = 200
    frame = pd.DataFrame(
        {
            "Unnamed: 0": np.arange(n),
            "district": [f"d{i}" for i in range(n)],
            "score": rng.normal(size=n).round(3),
            "seen": [f"{d:02d}/05/2020" for d in rng.integers(13, 29, n)],
        }
    )
    frame["y"] = np.where(frame["score"] > 0, "up", "down")
    frame.to_csv(tmp_path / "d.csv", index=False)
    code, _, err = train(capsys, tmp_path / "d.csv", "--target", "y")
    # each problem names its own flag, and repeated flags add up, as they are printed
    assert "--ignore 'Unnamed: 0'" in err and "--ignore district" in err, err
    model = tmp_path / "m.glassnet"
    code, _, err = train(capsys, tmp_path / "d.csv", "--target", "y", "--ignore", "Unnamed: 0",
                         "--ignore", "district", "--out", model)  # fmt: skip
    assert code == 0, err
    assert gn.load(model).features.names == ["score", "seen"]
    bad = frame.drop(columns=["Unnamed: 0", "district"]).head(3).astype(object)
    bad.loc[0, "score"], bad.loc[1, "seen"] = "1.274,29", "2020-05-14"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    code, out, err = call(capsys, "predict", model, tmp_path / "bad.csv")
    comma = "line 2 holds '1.274,29'; if ',' is the decimal mark, give "
    date = "line 3 holds '2020-05-14'; give a date such as '13/05/2020'"
    marks = "--decimal , --thousands . (points mark thousands)"
    assert_one_line_error((code, out, err), comma + marks, date)


def test_points_for_thousands_with_a_decimal_comma_are_named_when_only_the_comma_was_given(
    capsys, tmp_path
):
    rng = np.random.default_rng(4)
    prices = rng.uniform(500, 5000, 120)
    euro = [f"{p:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".") for p in prices]
    frame = pd.DataFrame({"city": [f"c{i % 5}" for i in range(120)], "price": euro,
                          "y": np.where(prices > 2500, "dear", "cheap")})  # fmt: skip
    frame.to_csv(tmp_path / "eu.csv", sep=";", index=False)
    # with the comma alone, 684,38 reads as a number and 1.274,29 stays text: not categories
    result = train(capsys, tmp_path / "eu.csv", "--target", "y", "--decimal", ",")
    assert_one_line_error(result, "'price' holds numbers written with a decimal comma",
                          "give --decimal , --thousands . (points mark thousands)")  # fmt: skip
    model = tmp_path / "m.glassnet"
    code, _, err = train(capsys, tmp_path / "eu.csv", "--target", "y", "--decimal", ",",
                         "--thousands", ".", "--epochs", "2", "--out", model)  # fmt: skip
    assert code == 0, err
    assert gn.load(model).features.kinds["price"] == "numeric"
