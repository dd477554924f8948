"""`python -m tests.cpython_suite`: see `tests.cpython_suite.run`."""
import sys

from tests.cpython_suite.run import main

sys.exit(main())
