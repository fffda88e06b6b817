#!/usr/bin/env python3
"""Generates nmf's decoding tables from CPython's own codecs, so that nmf decodes a source file
that declares `# -*- coding: cp1252 -*-` (or Shift-JIS, GBK, ...) exactly as CPython does.

    python3 scripts/gen_codecs.py

Writes `crates/nmf_driver/src/source/codecs/tables.bin` (the byte-to-character tables) and
`crates/nmf_driver/src/source/codecs/generated.rs` (which codec is where, CPython's aliases of
their names, the GB18030 four-byte ranges). Both are generated: edit this script, not them. The tables
depend on the Python version only where CPython changed a codec (rare); the pytest suite checks
nmf's decoding against the running CPython byte for byte.

Layout of `tables.bin`, little-endian u16 throughout, one codec after the other:
- single-byte codec: 256 entries, the character of each byte; 0xFFFF where CPython raises.
- multi-byte codec: a root of 256 entries (0xFFFF invalid, 0xFFFE the first byte of a longer
  sequence), then for each such lead byte, ascending, 192 entries for the second byte
  0x40..=0xFF (0xFFFF invalid, 0xFFFE the second byte of a three-byte sequence), then for each
  such (lead, second) pair, ascending, 192 entries for the third byte.
"""

from __future__ import annotations

import codecs
import encodings.aliases
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates" / "nmf_driver" / "src" / "source" / "codecs"

SINGLE_BYTE = [
    "cp437", "cp737", "cp775", "cp850", "cp852", "cp855", "cp857", "cp858", "cp860", "cp861",
    "cp862", "cp863", "cp864", "cp865", "cp866", "cp869", "cp874", "cp1125", "cp1250", "cp1251",
    "cp1252", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258", "iso8859_2",
    "iso8859_3", "iso8859_4", "iso8859_5", "iso8859_6", "iso8859_7", "iso8859_8", "iso8859_9",
    "iso8859_10", "iso8859_11", "iso8859_13", "iso8859_14", "iso8859_15", "iso8859_16", "koi8_r",
    "koi8_t", "koi8_u", "kz1048", "mac_cyrillic", "mac_greek", "mac_iceland", "mac_latin2",
    "mac_roman", "mac_turkish", "ptcp154", "tis_620", "hp_roman8",
]
MULTI_BYTE = [
    "shift_jis", "cp932", "euc_jp", "euc_kr", "cp949", "gbk", "gb2312", "gb18030", "big5", "cp950",
]
INVALID, LEAD = 0xFFFF, 0xFFFE
TRAILS = range(0x40, 0x100)


def single_byte(name: str) -> list[int]:
    table = []
    for byte in range(256):
        try:
            text = bytes([byte]).decode(name)
        except UnicodeDecodeError:
            table.append(INVALID)
            continue
        assert len(text) == 1 and ord(text) < LEAD, (name, byte, text)
        table.append(ord(text))
    return table


def step(name: str, prefix: bytes) -> int:
    """What `prefix` is to CPython: one character, the start of a longer sequence, or invalid."""
    decoder = codecs.getincrementaldecoder(name)()
    try:
        text = decoder.decode(prefix, final=False)
    except UnicodeDecodeError:
        return INVALID
    if text == "":
        return LEAD
    if len(text) != 1:
        return INVALID
    assert ord(text) < LEAD, (name, prefix, text)
    return ord(text)


def second(name: str, lead: int, trail: int) -> int:
    """Like `step` for a two-byte prefix, which is a lead only if some third byte completes it
    (CPython's incremental decoders wait for three bytes before judging the first two)."""
    value = step(name, bytes([lead, trail]))
    if value == LEAD and all(step(name, bytes([lead, trail, third])) >= LEAD for third in range(256)):
        return INVALID
    return value


def multi_byte(name: str) -> list[int]:
    root = [step(name, bytes([byte])) for byte in range(256)]
    seconds, thirds = [], []
    for lead in range(256):
        if root[lead] != LEAD:
            continue
        # Nothing CPython accepts has a second byte below 0x40 (GB18030's four-byte sequences,
        # whose second byte is a digit, are decoded from ranges).
        for trail in range(0x40):
            value = second(name, lead, trail)
            assert value == INVALID or (name == "gb18030" and 0x30 <= trail <= 0x39), (name, lead, trail)
        row = [second(name, lead, trail) for trail in TRAILS]
        seconds.append(row)
        for trail, value in zip(TRAILS, row):
            if value == LEAD:
                thirds.append([step(name, bytes([lead, trail, third])) for third in TRAILS])
    for row in thirds:
        assert LEAD not in row, name
    return root + [value for row in seconds + thirds for value in row]


def gb18030_ranges() -> list[tuple[int, int, int]]:
    """Runs of the four-byte GB18030 sequences of the Basic Multilingual Plane: (first linear
    index, first code point, length)."""
    runs: list[list[int]] = []
    for index in range(39420):
        b4 = 0x30 + index % 10
        b3 = 0x81 + index // 10 % 126
        b2 = 0x30 + index // 1260 % 10
        b1 = 0x81 + index // 12600
        try:
            text = bytes([b1, b2, b3, b4]).decode("gb18030")
        except UnicodeDecodeError:
            continue
        point = ord(text)
        if runs and runs[-1][0] + runs[-1][2] == index and runs[-1][1] + runs[-1][2] == point:
            runs[-1][2] += 1
        else:
            runs.append([index, point, 1])
    return [tuple(run) for run in runs]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    blob = bytearray()
    entries = []
    for name in SINGLE_BYTE + MULTI_BYTE:
        table = single_byte(name) if name in SINGLE_BYTE else multi_byte(name)
        entries.append((name, "SingleByte" if name in SINGLE_BYTE else "MultiByte", len(blob) // 2, len(table)))
        blob += struct.pack(f"<{len(table)}H", *table)
    (OUT / "tables.bin").write_bytes(bytes(blob))

    names = set(SINGLE_BYTE + MULTI_BYTE)
    aliases = sorted((alias, codec) for alias, codec in encodings.aliases.aliases.items() if codec in names)
    lines = [
        "// Generated by `python3 scripts/gen_codecs.py` from CPython "
        f"{sys.version_info.major}.{sys.version_info.minor}'s codecs: do not edit.",
        "",
        "use super::{Codec, CodecKind};",
        "",
        "/// Every codec nmf decodes besides UTF-8, Latin-1 and ASCII, with where its table starts in",
        "/// `tables.bin` (in u16 entries) and how long it is.",
        "pub(super) const CODECS: &[Codec] = &[",
    ]
    for name, kind, start, length in entries:
        lines.append(f'    Codec {{ name: "{name}", kind: CodecKind::{kind}, start: {start}, len: {length} }},')
    lines += ["];", "", "/// CPython's other names for them (`encodings.aliases`), normalised.",
              "pub(super) const ALIASES: &[(&str, &str)] = &["]
    lines += [f'    ("{alias}", "{codec}"),' for alias, codec in aliases]
    lines += ["];", "", "/// GB18030's four-byte sequences in the Basic Multilingual Plane, as runs of",
              "/// (first linear index, first code point, length).",
              "pub(super) const GB18030_RANGES: &[(u32, u32, u32)] = &["]
    lines += [f"    ({start}, {point:#06x}, {length})," for start, point, length in gb18030_ranges()]
    lines += ["];", ""]
    (OUT / "generated.rs").write_text("\n".join(lines))
    print(f"wrote {len(blob)} bytes of tables for {len(entries)} codecs, {len(aliases)} aliases")


if __name__ == "__main__":
    main()
