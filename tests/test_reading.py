"""Reading data files: every format, as written, whole and in chunks; what is refused."""

import bz2
import gzip
import lzma
import os
import zipfile

import numpy as np
import pytest

from glassnet.tabular.reading import (
    DataFileError,
    ReadOptions,
    iter_chunks,
    read_table,
    row_numbering,
)

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")

CSV = "code,country,price,flag\n001,NA,1.5,TRUE\n002,None,2.25,FALSE\n010,null,,TRUE\n"


def as_lists(frame):
    return {c: [None if v is None or v != v else v for v in frame[c]] for c in frame.columns}


def test_csv_cells_stay_as_written_and_only_empty_cells_are_missing(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(CSV)
    data = as_lists(read_table(str(path)))
    assert data["code"] == ["001", "002", "010"]
    assert data["country"] == ["NA", "None", "null"]
    assert data["price"] == ["1.5", "2.25", None]
    assert data["flag"] == ["TRUE", "FALSE", "TRUE"]


def test_na_values_add_missing_markers(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(CSV)
    data = as_lists(read_table(str(path), ReadOptions(na_values=("NA", "null"))))
    assert data["country"] == [None, "None", None]


@pytest.mark.parametrize(
    ("suffix", "opener"),
    [
        (".csv.gz", gzip.open),
        (".csv.bz2", bz2.open),
        (".csv.xz", lzma.open),
        (".csv.zst", "zstd"),
        (".csv.zip", "zip"),
    ],
)
def test_compressed_csv(tmp_path, suffix, opener):
    path = tmp_path / f"d{suffix}"
    if opener == "zstd":
        with pa.output_stream(str(path), compression="zstd") as f:
            f.write(CSV.encode())
    elif opener == "zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("d.csv", CSV)
    else:
        with opener(path, "wt") as f:
            f.write(CSV)
    assert as_lists(read_table(str(path)))["code"] == ["001", "002", "010"]


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_separators_are_sniffed(tmp_path, sep):
    path = tmp_path / "d.csv"
    path.write_text(CSV.replace(",", sep))
    frame = read_table(str(path))
    assert list(frame.columns) == ["code", "country", "price", "flag"]


def test_tsv_by_extension_and_a_given_separator(tmp_path):
    (tmp_path / "d.tsv").write_text("a b\tc\n1,5\t2\n")
    assert list(read_table(str(tmp_path / "d.tsv")).columns) == ["a b", "c"]
    (tmp_path / "d.txt").write_text("a:b\n1:2\n")
    assert list(read_table(str(tmp_path / "d.txt"), ReadOptions(sep=":")).columns) == ["a", "b"]


def test_european_numbers_with_decimal_commas(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_bytes("Stadt;Preis;Fläche\nKöln;1.234.567;12,5\nMünchen;999;7\n".encode("latin-1"))
    with pytest.raises(DataFileError, match="not UTF-8 text.*encoding='latin-1'"):
        read_table(str(path))
    options = ReadOptions(encoding="latin-1", decimal=",", thousands=".")
    data = as_lists(read_table(str(path), options))
    assert data == {
        "Stadt": ["Köln", "München"],
        "Preis": ["1234567", "999"],
        "Fläche": ["12.5", "7"],
    }


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_name(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfa,b\n1,2\n")
    assert list(read_table(str(path)).columns) == ["a", "b"]


def test_parquet_feather_and_json_lines_keep_their_types(tmp_path):
    frame = pd.DataFrame(
        {
            "code": ["001", "NA", None],
            "x": [1.5, None, 3.0],
            "n": [1, 2, 3],
            "b": [True, False, True],
        }
    )
    frame.to_parquet(tmp_path / "d.parquet")
    frame.to_feather(tmp_path / "d.feather")
    (tmp_path / "d.jsonl").write_text(
        '{"code": "001", "x": 1.5, "n": 1, "b": true}\n'
        '{"code": "NA", "x": null, "n": 2, "b": false}\n'
        '{"code": null, "x": 3.0, "n": 3, "b": true}\n'
    )
    for name in ("d.parquet", "d.feather", "d.jsonl"):
        data = as_lists(read_table(str(tmp_path / name)))
        assert data["code"] == ["001", "NA", None], name
        assert data["x"] == [1.5, None, 3.0], name
        assert [int(v) for v in data["n"]] == [1, 2, 3], name
        assert [bool(v) for v in data["b"]] == [True, False, True], name


@pytest.mark.parametrize("name", ["d.csv", "d.parquet", "d.feather", "d.jsonl", "d.csv.gz"])
def test_chunks_of_every_format_are_indexed_by_file_position(tmp_path, name):
    n = 1000
    frame = pd.DataFrame({"i": np.arange(n), "s": [f"v{i}" for i in range(n)]})
    path = str(tmp_path / name)
    if name.endswith(".parquet"):
        frame.to_parquet(path, row_group_size=300)
    elif name.endswith(".feather"):
        frame.to_feather(path, chunksize=250)
    elif name.endswith(".jsonl"):
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_csv(path, index=False)
    chunks = list(iter_chunks(path, chunk_rows=128))
    assert all(len(c) <= 128 for c in chunks)
    whole = pd.concat(chunks)
    np.testing.assert_array_equal(whole.index, np.arange(n))
    np.testing.assert_array_equal(whole["i"].astype(int), np.arange(n))
    assert list(whole["s"]) == list(frame["s"])


def test_row_numbering_per_format():
    assert row_numbering("a.csv") == ("line", 2)
    assert row_numbering("a.jsonl") == ("line", 1)
    assert row_numbering("a.parquet") == ("row", 1)


def test_duplicate_column_names_are_refused(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,a\n1,2,3\n")
    with pytest.raises(DataFileError, match="'a' appears twice \\(columns 1 and 3\\)"):
        read_table(str(tmp_path / "d.csv"))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("", "is empty"),
        ("\n\n", "is empty"),
        ("a,b\n", "header but no rows"),
        ("a,b\n1,2\n3,4,5\n", "Expected 2 fields in line 3, saw 3"),
        ("a,b\n1,\x002\n", "NUL bytes"),
    ],
)
def test_bad_text_files(tmp_path, content, fragment):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataFileError, match=fragment):
        read_table(str(path))


def test_a_damaged_parquet_file(tmp_path):
    (tmp_path / "d.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DataFileError, match="cannot read .* as Parquet"):
        read_table(str(tmp_path / "d.parquet"))


def test_special_files_are_refused_before_opening(tmp_path):
    with pytest.raises(DataFileError, match="no such file"):
        read_table(str(tmp_path / "none.csv"))
    with pytest.raises(DataFileError, match="is a folder"):
        read_table(str(tmp_path))
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    with pytest.raises(DataFileError, match="is a FIFO"):
        read_table(str(fifo))  # would block forever if it were opened
    with pytest.raises(DataFileError, match="device"):
        read_table("/dev/zero")


def test_bad_options():
    with pytest.raises(DataFileError, match="one character"):
        ReadOptions(sep=";;")
    with pytest.raises(DataFileError, match="unknown encoding"):
        ReadOptions(encoding="klingon")
    with pytest.raises(DataFileError, match="must differ"):
        ReadOptions(decimal=",", thousands=",")


def _damaged(path, data: bytes, how: str) -> None:
    if how == "flip":  # one flipped byte, in the middle of the compressed data
        data = bytearray(data)
        data[len(data) // 2] ^= 0xFF
    else:  # cut short
        data = data[: len(data) // 2]
    path.write_bytes(bytes(data))


def _zipped(text: bytes) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("d.csv", text)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "compress", "how", "fragment"),
    [
        ("d.csv.xz", lzma.compress, "flip", "is damaged: its xz data cannot be decompressed"),
        ("d.csv.zip", _zipped, "cut", "is damaged: it is not a whole zip archive"),
        ("d.csv.gz", gzip.compress, "cut", "is truncated"),
        ("d.csv.bz2", bz2.compress, "cut", "is truncated"),
        ("d.csv.xz", lzma.compress, "cut", "is truncated"),
        ("d.jsonl.xz", lzma.compress, "flip", "is damaged: its xz data cannot be decompressed"),
    ],
)
def test_a_damaged_compressed_file_is_named_with_what_is_wrong(
    tmp_path, name, compress, how, fragment
):
    rng = np.random.default_rng(0)
    if name.startswith("d.jsonl"):
        text = "\n".join(f'{{"a": {v}, "b": "x{v}"}}' for v in rng.integers(0, 10**6, 20_000))
    else:
        text = "a,b\n" + "\n".join(f"{v},x{v}" for v in rng.integers(0, 10**6, 20_000))
    path = tmp_path / name
    _damaged(path, compress(text.encode()), how)
    with pytest.raises(DataFileError, match=f"{path}.*{fragment}"):
        for _ in iter_chunks(str(path), chunk_rows=1000):
            pass
    from test_cli import assert_one_line_error, inproc

    result = inproc("train", path, "--target", "b", "--quiet", "--out", tmp_path / "m.glassnet")
    assert_one_line_error(result, name, fragment)


@pytest.mark.parametrize(
    ("name", "compress"), [("d.csv.gz", gzip.compress), ("d.csv.bz2", bz2.compress)]
)
def test_a_flipped_byte_in_gzip_or_bzip2_is_one_line_naming_the_file(tmp_path, name, compress):
    """A flipped byte may decompress to other text before the checksum is met: whatever is
    found first, it is a user's error naming the file, never an internal one."""
    from test_cli import assert_one_line_error, inproc

    text = "a,b\n" + "\n".join(f"{v},x{v}" for v in range(20_000))
    path = tmp_path / name
    _damaged(path, compress(text.encode()), "flip")
    result = inproc("train", path, "--target", "b", "--quiet", "--out", tmp_path / "m.glassnet")
    assert_one_line_error(result, str(path))


@pytest.mark.parametrize(
    "text, line",
    [
        ("size,town,age\n1,north,3,4,5\n2,south,4\n", 2),  # two fields too many
        ("size,town,age\n1,north,3\n2,south,4,9\n", 3),  # one, on a later line
        ("size,town\n1,a,b\n2,c,d\n", 2),  # R's write.table: row names without a header
    ],
)
def test_a_row_longer_than_the_header_is_refused_by_line(tmp_path, text, line):
    """pandas would take the extra leading fields as the row's index and shift its values
    into the wrong columns; the row is refused instead, naming its line."""
    path = tmp_path / "ragged.csv"
    path.write_text(text)
    with pytest.raises(DataFileError, match=rf"\bline {line}\b") as refused:
        read_table(str(path))
    assert "fields" in str(refused.value)
    with pytest.raises(DataFileError, match=rf"\bline {line}\b"):
        list(iter_chunks(str(path), chunk_rows=1))


@pytest.mark.parametrize(
    ("name", "kind"),
    [("book.xlsx", "an Excel workbook"), ("old.XLS", "an Excel workbook"),
     ("sheet.ods", "an OpenDocument spreadsheet"), ("survey.sav", "an SPSS file")],
)  # fmt: skip
def test_a_spreadsheet_or_another_program_s_file_is_named_not_read_as_csv(tmp_path, name, kind):
    path = tmp_path / name
    path.write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(DataFileError, match=f"is {kind}, which glassnet does not read; save it "
                       "as CSV or Parquet"):  # fmt: skip
        read_table(str(path))


def test_a_file_cut_short_is_named_not_read_with_empty_cells(tmp_path):
    whole = "a,b,c\n1,2,3\n4,5,6\n"
    cut = tmp_path / "cut.csv"
    cut.write_text(whole + "7,8")  # a copy that stopped in its last row
    said = r"cut.csv ends in a line with 2 fields, no line break after it, and the header has 3"
    with pytest.raises(DataFileError, match=said + ": the file looks cut short"):
        read_table(str(cut))
    for fine in (whole, whole + "7,8,9", whole + '7,8,"a\nb"', "a,b,c\n1,,"):
        path = tmp_path / "fine.csv"
        path.write_text(fine)  # complete without a final line break, or a quoted break
        assert len(read_table(str(path))) >= 1


def test_the_cut_short_check_leaves_utf16_blank_tails_and_short_latin1_files_alone(tmp_path):
    from glassnet.tabular.reading import plainly_utf8

    wide = tmp_path / "wide.csv"
    wide.write_bytes("a,b\r\n1,2\r\n3,4\r\n".encode("utf-16"))
    assert read_table(str(wide), ReadOptions(encoding="utf-16")).shape == (2, 2)
    blank = tmp_path / "blank.csv"
    blank.write_bytes(b"a,b,c\n1,2,3\n4,5,6\n ")
    assert len(read_table(str(blank))) >= 2
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"a\n\xe9\n")  # short, and its one accent is Latin-1, not UTF-8
    assert not plainly_utf8(str(latin))
    utf8 = tmp_path / "utf8.csv"
    utf8.write_bytes("a\né\n".encode())
    assert plainly_utf8(str(utf8))
