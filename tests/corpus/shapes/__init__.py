"""The corpus: one function per loop shape, each registered with the decision XCS must reach.

One module per topic; adding a shape is adding a function to the module of its topic (or a
new module listed here). `common.py` says what a row is and how its expected reason is given.
"""
from tests.corpus.shapes import (helpers_and_state, iterables_and_lifetimes, pacing, parallel_basics,  # noqa: F401
                                 precision, sequential_basics)
from tests.corpus.shapes.common import CORPUS, RUN_KINDS, Shape, shape  # noqa: F401
