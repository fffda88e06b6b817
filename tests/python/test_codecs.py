"""nmf decodes source files in CPython's codecs exactly as CPython does: every one- and
two-byte sequence (and the three- and four-byte ones of EUC-JP and GB18030) of every codec nmf
has a table for, decoded by nmf's tables and by the running CPython, must agree, characters and
errors alike. Then, end to end, a file in each codec is checked by `nmf` and by flake8."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from conftest import ROOT
from flake8_no_model_forward_call import _nmf

GENERATED = ROOT / "crates" / "nmf_driver" / "src" / "source" / "codecs" / "generated.rs"
CODECS = re.findall(r'Codec \{ name: "(\w+)", kind: CodecKind::(\w+)', GENERATED.read_text())


def cpython(codec: str, data: bytes) -> str | None:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def nmf_decode(codec: str, data: bytes) -> str | None:
    try:
        return _nmf.decode(codec, data)
    except ValueError:
        return None


def test_the_tables_cover_the_codecs_real_code_uses() -> None:
    names = {name for name, _ in CODECS}
    for wanted in ["cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257",
                   "cp1258", "iso8859_2", "iso8859_15", "koi8_r", "koi8_u", "shift_jis", "cp932",
                   "euc_jp", "euc_kr", "gbk", "gb18030", "big5"]:
        assert wanted in names


@pytest.mark.parametrize("codec,kind", CODECS)
def test_every_short_sequence_decodes_as_in_cpython(codec: str, kind: str) -> None:
    singles = [bytes([byte]) for byte in range(256)]
    for data in singles:
        assert nmf_decode(codec, data) == cpython(codec, data), (codec, data)
    if kind == "SingleByte":
        return
    for lead in range(0x80, 0x100):
        for trail in range(256):
            data = bytes([lead, trail])
            assert nmf_decode(codec, data) == cpython(codec, data), (codec, data)


def test_longer_sequences_decode_as_in_cpython() -> None:
    for second in range(0xA0, 0x100):
        for third in range(256):
            data = bytes([0x8F, second, third])
            assert nmf_decode("euc_jp", data) == cpython("euc_jp", data), data
    generator = random.Random(1263)
    for _ in range(200_000):
        data = bytes([generator.randrange(0x81, 0xFF), generator.randrange(0x2E, 0x3C),
                      generator.randrange(0x7F, 0x100), generator.randrange(0x2E, 0x3C)])
        assert nmf_decode("gb18030", data) == cpython("gb18030", data), data


def test_a_file_in_each_codec_is_read_as_python_reads_it(tmp_path: Path, nmf, flake8) -> None:
    samples = {
        "cp1252": "s = 'café €'\n", "cp1251": "s = 'привет'\n", "koi8_r": "s = 'привет'\n",
        "iso8859_7": "s = 'καλημέρα'\n", "shift_jis": "s = '日本語'\n", "euc_jp": "s = '日本語'\n",
        "euc_kr": "s = '한국어'\n", "gbk": "s = '中文'\n", "gb18030": "s = '中文 \U00010000'\n",
        "big5": "s = '中文'\n",
    }
    for codec, line in samples.items():
        text = f"# -*- coding: {codec} -*-\n{line}model.forward(x)\n"
        (tmp_path / f"{codec}.py").write_bytes(text.encode(codec))
    result = nmf("check", "--isolated", "--quiet", ".", cwd=tmp_path)
    expected = sorted(f"{codec}.py:3:1: NMF001" for codec in samples)
    assert sorted(line.split(" Do not")[0] for line in result.stdout.splitlines()) == expected
    plugin = flake8("--select=NMF", ".", cwd=tmp_path)
    assert sorted(line.split(" Do not")[0].removeprefix("./") for line in plugin.stdout.splitlines()) == expected
    # A byte cp1252 does not define: CPython refuses the file, and so does nmf.
    (tmp_path / "bad.py").write_bytes(b"# coding: cp1252\ns = '\x81'\nmodel.forward(x)\n")
    bad = nmf("check", "--isolated", "bad.py", cwd=tmp_path)
    assert bad.stdout.startswith("bad.py:1:1: E902 UnicodeDecodeError: 'charmap' codec can't decode byte 0x81"), bad.stdout
