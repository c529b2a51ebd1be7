"""Reading agent-written training files defensively: every hostile file is a one-line DataError, fast."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from ftagent.errors import DataError
from ftagent.train.data import load_training_data, read_records, read_regular_file

GOOD = [{"instruction": "What is 1+1?", "output": "2"},
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}]


def _err(path, **kw) -> str:
    with pytest.raises(DataError) as e:
        load_training_data(path, **kw)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_good_file_json_and_jsonl(tmp_path):
    p = tmp_path / "data.json"
    p.write_text(json.dumps(GOOD))
    assert len(load_training_data(p, root=tmp_path)) == 2
    p.write_text("\n".join(json.dumps(r) for r in GOOD))
    assert [r["completion"][0]["content"] for r in load_training_data(p)] == ["2", "hello"]


def test_fifo_does_not_block(tmp_path):
    p = tmp_path / "data.json"
    os.mkfifo(p)
    t0 = time.time()
    box = {}
    th = threading.Thread(target=lambda: box.setdefault("msg", _err(p)), daemon=True)
    th.start()
    th.join(10)
    assert not th.is_alive(), "reading a FIFO blocked the harness"
    assert "is a FIFO" in box["msg"] and time.time() - t0 < 10


def test_directory_device_and_links(tmp_path):
    d = tmp_path / "data.json"
    d.mkdir()
    assert "is a directory" in _err(d)
    with pytest.raises(DataError, match="character device"):
        read_regular_file("/dev/zero")
    target = tmp_path / "real.json"
    target.write_text(json.dumps(GOOD))
    link = tmp_path / "ws" / "data.json"
    link.parent.mkdir()
    link.symlink_to(target)
    assert "symbolic link" in _err(link)
    assert "outside the workspace" in _err(target, root=link.parent)
    assert "not found" in _err(tmp_path / "missing.json")


def test_size_cap_before_parsing(tmp_path):
    p = tmp_path / "data.json"
    p.write_text(json.dumps(GOOD * 2000))
    assert "MiB cap" in _err(p, max_bytes=1000)
    assert len(load_training_data(p, max_bytes=10 * 2**20)) == 4000


def test_encoding_depth_and_values(tmp_path):
    p = tmp_path / "data.json"
    p.write_bytes(b'[{"instruction": "\xff\xfe", "output": "x"}]')
    assert "not valid UTF-8" in _err(p)
    p.write_text("[" * 200_000 + "]" * 200_000)  # past the parser's recursion limit
    assert "nests deeper" in _err(p)
    p.write_text(json.dumps([{"instruction": [[[[[[["deep"]]]]]]], "output": "x"}]))
    assert "nests deeper than 4" in _err(p, max_depth=4)
    p.write_text('[{"instruction": "q", "output": ' + "9" * 5000 + "}]")
    assert "unreadable value" in _err(p)
    p.write_text("{not json")
    assert "not valid JSON" in _err(p)
    with pytest.raises(DataError, match="list of JSON objects"):
        p.write_text("[1, 2]")
        read_records(p)
