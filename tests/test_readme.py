"""The README's and the documentation pages' examples run, and print what they say they print.

README.md is the front page; the long sections are the pages of docs/. A block is found
the same way in any of these files: by the heading of its section, at any level, up to
the next heading of the same level or higher (`section`); a page's title is its own
section. So a test names its example by file and heading, and runs it wherever it stands.
"""

import contextlib
import io
import re
import shlex
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"

#: Pages whose examples other tests run, with a cluster, from the page's sections
#: (test_integrations.py, test_dask_cli.py, test_streaming.py): here they are checked to
#: be where those tests read them.
RUN_ELSEWHERE = {"scaling.md"}


def name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def section(text: str, heading: str) -> str | None:
    """The section under ``heading`` (any level), up to the next heading of its level or
    higher; None when the text has no such heading. Fenced code never holds a heading."""
    lines = text.split("\n")
    fenced, start, level = False, None, 0
    for i, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
        if fenced or not (found := re.match(r"(#{1,6}) (.*?)\s*$", line)):
            continue
        if start is None and found.group(2) == heading:
            start, level = i, len(found.group(1))
        elif start is not None and len(found.group(1)) <= level:
            return "\n".join(lines[start:i])
    return None if start is None else "\n".join(lines[start:])


def blocks(text: str, language: str = "python") -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def run_block(code: str, where: str, namespace: dict | None = None) -> list[str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, where, "exec"), {} if namespace is None else namespace)
    return out.getvalue().splitlines()


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A fresh folder with examples/ and the model.glassnet that `glassnet train` writes."""
    pandas = pytest.importorskip("pandas")
    import glassnet as gn

    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    model = gn.TabularModel.fit(pandas.read_csv(ROOT / "examples" / "iris.csv"), "species",
                                epochs=30)  # fmt: skip
    model.save(tmp_path / "model.glassnet")
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- the README ---------------------------------------------------------------------------------


def test_the_ten_line_example_runs_and_learns_xor():
    code = blocks(README.read_text())[0]
    assert len(code.strip().splitlines()) <= 12
    assert run_block(code, name(README))[0] == "[0. 1. 1. 0.]"


def test_the_readme_is_a_front_page():
    text = README.read_text()
    assert len(text.splitlines()) <= 300
    quick = section(text, "Quick start")
    assert "make demo" in quick and "make test" in quick
    assert section(text, "What it does").count("](docs/") >= 9  # the features, into the docs


def test_links_into_the_docs_reach_a_page_and_heading():
    """Every relative link of the README names a file that exists, and a heading in it."""
    from markdown.extensions.toc import slugify

    text = README.read_text()
    for target in re.findall(r"\]\(([^)#\s]+\.md)(?:#([^)\s]+))?\)", text):
        page = ROOT / target[0]
        assert page.is_file(), f"README.md links to {target[0]}, which does not exist"
        if target[1]:
            headings = re.findall(r"^#+ (.*?)\s*$", page.read_text(), flags=re.M)
            assert target[1] in {slugify(h, "-") for h in headings}, target


def test_the_command_line_walkthrough_runs_as_printed(workdir, capsys):
    """What test_cli.py checks of README.md's walkthrough, in this process: the commands,
    then the Python block, which imports what it uses."""
    import glassnet as gn
    from glassnet import cli

    text = section(README.read_text(), "The command line")
    assert run_console(text, cli, capsys, name(README)) >= 3
    namespace: dict = {}
    run_block(blocks(text)[0], name(README), namespace)
    assert isinstance(namespace["model"], gn.TabularModel)


def test_no_example_takes_a_tuple_from_fit():
    """TabularModel.fit, fit_stream and glassnet.dask.fit_table return the model (its
    history is model.history), in the README and on every page."""
    for path in [README, *sorted(DOCS.rglob("*.md"))]:
        assert not re.search(r"\w+, \w+ = .*fit(_table|_stream)?\(", path.read_text()), name(path)


# -- the same examples, wherever they stand --------------------------------------------------


def run_console(text: str, cli, capsys, where: str) -> int:
    """Run each `$ glassnet ...` line of a text's console blocks, as test_cli.py runs
    README.md's: it succeeds, and its first line of output starts as the one printed
    (up to a colon). A file the text only describes (penguins.csv) is skipped."""
    ran = 0
    for console in blocks(text, "console"):
        lines = console.split("\n")
        for i, line in enumerate(lines):
            if not line.startswith("$ glassnet ") or "penguins.csv" in line:
                continue
            command = shlex.split(line[2:])[1:]
            if command[0] == "serve":
                continue  # a server: it answers until stopped (test_cli_serve.py runs it)
            output = [o for o in lines[i + 1 :] if not o.startswith("training:")]
            printed = "" if not output or output[0].startswith("$") else output[0]
            on_stderr = printed.startswith("glassnet:")  # a note, which --quiet would hush
            capsys.readouterr()
            code = cli.main(command if on_stderr else command + ["--quiet"])
            out, err = capsys.readouterr()
            assert code == 0, (where, line, err)
            if on_stderr:
                assert err.strip() == printed, (where, line)
            elif printed:
                assert out.splitlines()[0].split(":")[0] == printed.split(":")[0], (where, line)
            ran += 1
    return ran


DEPLOYING = DOCS / "deploying.md"


def test_the_models_in_memory_example_runs():
    (code,) = blocks(section(DEPLOYING.read_text(), "Model files"))
    assert run_block(code, name(DEPLOYING)) == ["True"]


def test_the_deployment_examples_run(workdir, capsys):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("skl2onnx")
    from glassnet import cli

    text = section(DEPLOYING.read_text(), "ONNX export")
    onnx_example, pipeline_example = blocks(text)
    assert run_block(onnx_example, name(DEPLOYING)) == ["True"]
    assert run_block(pipeline_example, name(DEPLOYING)) == ["['label', 'probabilities']"]
    # the export line the section prints is what the command says for such a model
    printed = re.search(r"\$ glassnet export .*\n(.*)\n", text).group(1)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert cli.main(["export", "model.glassnet", "iris.onnx"]) == 0
    assert err.getvalue().strip() == printed


# -- every page of docs/ ------------------------------------------------------------------------


def sh_commands(text: str) -> list[list[str]]:
    """The `glassnet ...` lines of a text's sh blocks, as words: the synopses (placeholders
    in capitals, options in brackets) and the server (it answers until stopped) aside."""
    commands = []
    for sh in blocks(text, "sh"):
        for line in sh.strip().replace("\\\n", " ").split("\n"):  # continuations joined
            words = shlex.split(line, comments=True)
            if len(words) < 2 or words[0] != "glassnet" or words[1] == "serve":
                continue
            if "[" in line or any(re.fullmatch(r"[A-Z][A-Z_.]*(onnx)?", w) for w in words):
                continue
            commands.append(words[1:])
    return commands


PAGES = sorted(p for p in DOCS.rglob("*.md") if p.name not in RUN_ELSEWHERE)
WITH_PYTHON = [p for p in PAGES if blocks(p.read_text())]
WITH_COMMANDS = [
    p for p in PAGES if "$ glassnet " in p.read_text() or sh_commands(p.read_text())
]  # fmt: skip


def page_id(page: Path) -> str:
    return str(page.relative_to(DOCS))


#: What a page's blocks print, by a line each block contains: checked line for line.
PRINTS = {
    ("getting-started.md", "the real XOR"): ["[0. 1. 1. 0.]"],
    ("command-line.md", "TabularModel.fit(flowers"): [
        "['setosa' 'versicolor' 'virginica']",
        "False True",
    ],  # fmt: skip
    ("python-api.md", "np.shares_memory"): ["[0. 1. 1. 0.]", "500 True", "True"],
    ("deploying.md", "gn.dumps(net)"): ["True"],
    ("deploying.md", "onnxruntime.InferenceSession"): ["True"],
    ("deploying.md", "make_pipeline"): ["['label', 'probabilities']"],
    ("mlflow.md", 'params={"proba": True}'): [
        "['species', 'proba_setosa', 'proba_versicolor', 'proba_virginica']"
    ],
    ("mlflow.md", "glassnet.mlflow.autolog()"): ["20"],
    ("mlflow.md", "SKOPS_TRUSTED_TYPES"): ["True"],
}


def test_the_pages_run_here_are_the_ones_with_examples():
    assert {page_id(p) for p in WITH_PYTHON} >= {
        "getting-started.md", "command-line.md", "python-api.md", "sklearn.md", "deploying.md",
    }  # fmt: skip
    assert {page_id(p) for p in WITH_COMMANDS} >= {
        "getting-started.md", "command-line.md", "deploying.md",
    }  # fmt: skip
    for page, marker in PRINTS:
        assert any(marker in code for code in blocks((DOCS / page).read_text())), (page, marker)


@pytest.mark.parametrize("page", WITH_PYTHON, ids=page_id)
def test_every_python_block_of_a_page_runs(page, workdir):
    """A page's Python blocks run in order in one namespace, from a fresh folder with the
    examples and model.glassnet, as a reader would paste them."""
    namespace: dict = {}
    for code in blocks(page.read_text()):
        printed = run_block(code, name(page), namespace)
        for (where, marker), expected in PRINTS.items():
            if where == page_id(page) and marker in code:
                lines = printed if len(expected) > 1 else printed[:1]
                assert lines == expected, (where, marker)


@pytest.mark.parametrize("page", WITH_COMMANDS, ids=page_id)
def test_every_glassnet_command_of_a_page_runs(page, workdir, capsys):
    """A page's `$ glassnet ...` console lines run and start their output as printed, and
    the `glassnet ...` lines of its sh blocks run."""
    from glassnet import cli

    text = page.read_text()
    ran = run_console(text, cli, capsys, name(page))
    runnable = [
        line
        for line in text.splitlines()
        if line.startswith("$ glassnet ")
        and not line.startswith("$ glassnet serve ")
        and "penguins.csv" not in line
    ]
    assert ran == len(runnable), (name(page), runnable)
    for words in sh_commands(text):
        capsys.readouterr()
        code = cli.main(words + ["--quiet"])
        assert code == 0, (name(page), words, capsys.readouterr().err)


@pytest.mark.parametrize(
    "heading, language",
    [
        ("Larger than memory, and clusters", "python"),  # test_integrations.py
        ("Data larger than memory", "sh"),  # test_streaming.py
        ("From files, on the command line", "sh"),  # test_dask_cli.py
        ("From files, on the command line", "python"),
    ],
)
def test_the_scaling_examples_are_where_their_tests_read_them(heading, language):
    """docs/scaling.md's cluster and streaming examples are run by the tests named above,
    from the page's sections of these headings (they need a cluster, or Spark): each
    section is there and holds its blocks, so that none of them runs nothing."""
    page = section((DOCS / "scaling.md").read_text(), heading)
    assert page is not None and blocks(page, language), heading
    assert section(README.read_text(), heading) is None  # the front page only links to it
