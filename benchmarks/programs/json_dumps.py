"""`json.dumps(..., indent=2)` of nested records. On 3.11/3.12 `indent` makes the stdlib
encode in Python (nested generator functions of `json.encoder`), so frames enter and resume
constantly; 3.13 encodes with `indent` in C. Either way it is standard-library code, which
auto-mode skips after one look per code object."""
import json

DATA = [{"id": i, "name": f"item{i}", "tags": ["a", "b", str(i)], "price": i * 1.25,
         "nested": {"ok": i % 2 == 0, "values": list(range(i % 5))}} for i in range(300)]


def run():
    return len(json.dumps(DATA, indent=2)) + len(json.dumps(DATA, indent=2, sort_keys=True))


EXPECTED = None
EXPECTED = run()
