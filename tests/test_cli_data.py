"""The command line on data shaped like real public datasets, and on hostile data."""

import gzip
from io import StringIO

import numpy as np
import pytest

import glassnet as gn
from test_cli import assert_one_line_error, call, glassnet, inproc

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
    assert "validation: accuracy" in out
    model = gn.load(tmp_path / "m.glassnet")
    assert model.features.kinds["sex"] == "categorical"
    assert model.features.columns[-2]["categories"] == ["female", "male"]  # NA is missing now


def test_seattle_weather_dates_become_numeric_parts(capsys, tmp_path):
    rng = np.random.default_rng(2)
    days = pd.date_range("2012-01-01", periods=600)
    temp = 12 - 8 * np.cos(2 * np.pi * days.dayofyear / 365) + rng.normal(0, 1, 600)
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
    assert gn.load(tmp_path / "m.glassnet").network.input_size == 51


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
    assert float(out.split("validation: R² ")[1].split(",")[0]) > 0.9
    loaded = gn.load(model)
    assert loaded.features.kinds == {"Stadt": "categorical", "Fläche": "numeric"}
    assert loaded.features.columns[0]["categories"] == ["Köln", "München"]


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
    noise = (tmp_path / "noise.csv", "--target", "y", "--hidden", "64,64", "--lr", "0.01")
    code, out, err = train(capsys, *noise, "--out", model)
    assert code == 0, err
    assert "stopped early" in out
    info = gn.load(model).info
    assert f"kept the weights of epoch {info['restored_epoch']}: loss " in out
    assert f"validation loss {info['epoch_val_loss']:.6g}" in out
    code, out, err = train(capsys, *noise, "--epochs", "300", "--no-early-stopping", "--out", model)
    assert code == 0
    assert "glassnet: warning: the validation loss rose from" in err and "overfits" in err


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
    np.testing.assert_allclose(a["t"], b["t"], rtol=1e-12, atol=1e-12)  # BLAS rounds by rows


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
