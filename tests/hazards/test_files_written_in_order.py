"""A file the loop body opens for writing (`with open(path, "a") as f: f.write(...)`) is
written in iteration order (the statement runs in the in-order part) while the requests
before it overlap; a check of the files the loop writes (`os.path.exists`) stays in order."""
from __future__ import annotations

import os

import xcs
from tests.hazards.harness import io, measuring


def append_results(xs, path):
    for x in xs:
        r = io(x)
        with open(path, "a") as f:
            f.write(f"{r}\n")
    return r


def write_unless_present(names, folder):
    written = []
    for name in names:
        body = io(name)
        target = os.path.join(folder, name)
        if not os.path.exists(target):
            with open(target, "w") as f:
                f.write(body)
            written.append(name)
    return written


def test_appends_to_a_file_opened_in_the_work_keep_their_order(tmp_path):
    plain, fast = tmp_path / "plain.txt", tmp_path / "jit.txt"
    assert append_results(list(range(24)), str(plain)) == 23
    jitted = xcs.jit(append_results)
    with measuring() as gauge:
        assert jitted(list(range(24)), str(fast)) == 23
        assert gauge["peak"] >= 2, gauge["peak"]
    assert fast.read_text() == plain.read_text()
    (report,) = xcs.explain(jitted)
    assert report.parallel, str(report)


def test_a_check_of_the_files_the_loop_writes_stays_in_order(tmp_path):
    names = ["a", "b", "a", "c", "b", "d"] * 2
    (tmp_path / "plain").mkdir()
    (tmp_path / "jit").mkdir()
    expected = write_unless_present(names, str(tmp_path / "plain"))
    got = xcs.jit(write_unless_present)(names, str(tmp_path / "jit"))
    assert got == expected == ["a", "b", "c", "d"]
    assert sorted(os.listdir(tmp_path / "jit")) == ["a", "b", "c", "d"]
