"""scikit-learn's own tests of its MLP estimators, run against glassnet's.

The test module that ships with scikit-learn (``sklearn/neural_network/tests/
test_mlp.py``) is loaded from the installed package as a separate copy, its
``MLPClassifier`` and ``MLPRegressor`` are replaced by glassnet's, and its test
functions (parametrized ones included) are collected here as they are. Nothing is
copied into this repository, and scikit-learn's own module is left untouched.

A test is left out only when it reaches into scikit-learn's private machinery;
each is listed in ``EXCLUDED`` with what it depends on.
"""

import importlib.util

import pytest

pytest.importorskip("sklearn")

import glassnet.sklearn as drop_in  # noqa: E402

#: Tests that depend on scikit-learn's private internals, not on public behaviour.
EXCLUDED: dict[str, str] = {}


def _load_upstream():
    spec = importlib.util.find_spec("sklearn.neural_network.tests.test_mlp")
    if spec is None or spec.origin is None:
        raise ImportError(
            "this scikit-learn was installed without its tests (sklearn/neural_network/"
            "tests/test_mlp.py), which this module runs against glassnet"
        )
    copy = importlib.util.spec_from_file_location("_upstream_test_mlp", spec.origin)
    module = importlib.util.module_from_spec(copy)
    copy.loader.exec_module(module)
    module.MLPClassifier = drop_in.MLPClassifier
    module.MLPRegressor = drop_in.MLPRegressor
    return module


_upstream = _load_upstream()

UPSTREAM_TESTS = sorted(
    name for name in vars(_upstream) if name.startswith("test_") and callable(vars(_upstream)[name])
)

for _name in UPSTREAM_TESTS:
    if _name not in EXCLUDED:
        globals()[_name] = getattr(_upstream, _name)


@pytest.fixture
def global_random_seed():
    """scikit-learn's conftest fixture (its default seed, 42)."""
    return 42


def test_the_upstream_tests_really_exercise_glassnet():
    assert _upstream.MLPClassifier is drop_in.MLPClassifier
    assert _upstream.MLPRegressor is drop_in.MLPRegressor
    collected = [name for name in UPSTREAM_TESTS if name in globals()]
    assert len(collected) == len(UPSTREAM_TESTS) - len(EXCLUDED)
    assert len(collected) >= 40  # scikit-learn 1.9 ships about fifty
    assert set(EXCLUDED) <= set(UPSTREAM_TESTS)  # no stale exclusions
    assert {"test_fit", "test_gradient", "test_mlp_diverging_loss"} <= set(collected)
