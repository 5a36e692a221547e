"""The "Larger than memory, and clusters" examples of docs/scaling.md, run as printed.

The section's Python blocks run in order in one namespace, on the cluster its first
block starts (two worker processes); each test runs the blocks up to its own and
checks what that block prints against what the page says it prints. Spark starts
once for the module, quietly, on local[2]; if it cannot start here, its test is
skipped with the reason.
"""

import contextlib
import io
import os
import re
import sys
import warnings
from pathlib import Path

import pytest

pytest.importorskip("distributed")
pytest.importorskip("dask_ml")
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support:FutureWarning")

ROOT = Path(__file__).parent.parent
PAGE = ROOT / "docs" / "scaling.md"
SECTION = PAGE.read_text().split("## Larger than memory, and clusters\n")[1]
SECTION = SECTION.split("\n## ")[0]
BLOCKS = re.findall(r"```python\n(.*?)```", SECTION, flags=re.S)


def block(marker: str) -> int:
    """The index of the one block that contains ``marker``."""
    found = [i for i, code in enumerate(BLOCKS) if marker in code]
    assert len(found) == 1, f"{len(found)} blocks of {PAGE.name} contain {marker!r}"
    return found[0]


class Scaling:
    """Runs the section's blocks in order, each once, keeping what each printed."""

    def __init__(self):
        self.namespace: dict = {}
        self.printed: list[list[str]] = []

    def through(self, marker: str) -> list[str]:
        """Run every block up to the one containing ``marker``; return its printed lines."""
        last = block(marker)
        while len(self.printed) <= last:
            out = io.StringIO()
            code = BLOCKS[len(self.printed)]
            with contextlib.redirect_stdout(out), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compile(code, str(PAGE), "exec"), self.namespace)
            self.printed.append(out.getvalue().splitlines())
        return self.printed[last]

    def expected(self, marker: str) -> list[str]:
        """What the page's comments say the block's print calls show."""
        return re.findall(r"^print\(.*\)\s+# (.*)$", BLOCKS[block(marker)], flags=re.M)


@pytest.fixture(scope="module")
def scaling(tmp_path_factory):
    here = os.getcwd()
    os.chdir(ROOT)  # the examples read examples/iris.csv, as from a fresh clone
    runner = Scaling()
    try:
        runner.through("Client(")
        yield runner
    finally:
        os.chdir(here)
        client = runner.namespace.get("client")
        if client is not None:
            cluster = client.cluster
            client.close()
            cluster.close()


def test_a_network_trains_on_the_cluster_as_in_memory(scaling):
    printed = scaling.through("glassnet.dask.fit(net")
    assert printed[0] == scaling.expected("glassnet.dask.fit(net")[0] == "True"
    assert printed[1].startswith("dask.array<_apply, shape=(10000, 2)")
    history = scaling.namespace["history"]
    assert history.epochs == 30 and history.loss[-1] < history.loss[0]


def test_an_estimator_trains_on_a_dataframe_with_text_labels(scaling):
    printed = scaling.through("iris.csv")
    assert printed == scaling.expected("iris.csv")
    clf = scaling.namespace["clf"]
    assert clf.n_features_in_ == 4 and list(clf.feature_names_in_)[0] == "sepal_length"


def test_dask_ml_incremental_calls_partial_fit_chunk_by_chunk(scaling):
    printed = scaling.through("Incremental(")
    assert printed == scaling.expected("Incremental(") == ["True 1 30000"]  # 3 passes of 10 000


def test_grid_search_on_the_joblib_dask_backend_and_parallel_post_fit(scaling):
    import dask.array as da

    printed = scaling.through("GridSearchCV(")
    assert printed == scaling.expected("GridSearchCV(")
    search = scaling.namespace["search"]
    assert len(search.cv_results_["params"]) == 4 and hasattr(search.best_estimator_, "network_")
    assert isinstance(scaling.namespace["labels"], da.Array)


@pytest.fixture(scope="module")
def spark(scaling, tmp_path_factory):
    """A quiet local[2] Spark session, or a skip that says what failed."""
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    conf = tmp_path_factory.mktemp("spark") / "log4j2.properties"
    conf.write_text(
        "rootLogger.level = error\n"
        "rootLogger.appenderRef.stderr.ref = console\n"
        "appender.console.type = Console\n"
        "appender.console.name = console\n"
        "appender.console.target = SYSTEM_ERR\n"
        "appender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = %p %c{1}: %m%n\n"
    )
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    java = f"-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dlog4j2.configurationFile=file:{conf}"
    try:
        session = (
            SparkSession.builder.master("local[2]")
            .appName("glassnet-tests")
            .config("spark.driver.extraJavaOptions", java)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .getOrCreate()
        )
    except Exception as exc:  # no Java, no free port, a JVM that dies: say which
        pytest.skip(f"SPARK COULD NOT START on this machine, so mapInPandas is untested: {exc!r}")
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


def test_spark_map_in_pandas_loads_the_model_from_its_bytes_on_each_executor(scaling, spark):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyspark's note about pandas versions
        printed = scaling.through("mapInPandas")
    assert printed == scaling.expected("mapInPandas") == ["True"]
    scored = scaling.namespace["scored"]
    assert len(scored) == 3_000 and set(scored["prediction"]) <= {0, 1}
