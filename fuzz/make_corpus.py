#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets: fuzz/corpus/idx/ and fuzz/corpus/csv/.

Valid inputs of every kind plus the tricky and broken ones of the unit tests' catalogues, all
small, so that the fuzzer starts from every branch of the parsers and ctest replays them all.
Files are deterministic (gzip with mtime 0); crashers found by fuzzing are kept next to these
under names starting with "crash-" and are not touched by this script.

Usage: python3 fuzz/make_corpus.py   (from anywhere)
"""
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def idx(type_byte, dims, payload):
    return bytes([0, 0, type_byte, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def write(kind, name, data):
    path = os.path.join(HERE, "corpus", kind, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def idx_corpus():
    valid = {
        "u8": idx(0x08, [2, 3], bytes([0, 1, 127, 128, 254, 255])),
        "i8": idx(0x09, [4], bytes([0, 1, 0x80, 0xFF])),
        "i16": idx(0x0B, [2, 2], struct.pack(">4h", 0, -1, 32767, -32768)),
        "i32": idx(0x0C, [3], struct.pack(">3i", 0, -2147483648, 2147483647)),
        "f32": idx(0x0D, [1, 1, 3], struct.pack(">3f", 0.5, -1e30, float("nan"))),
        "f64": idx(0x0E, [2], struct.pack(">2d", 1e300, -0.1)),
        "images": idx(0x08, [3, 4, 4], bytes(range(48))),
        "labels": idx(0x08, [5], bytes([0, 1, 2, 9, 3])),
        "dims8": idx(0x08, [1] * 7 + [2], b"\x01\x02"),
    }
    for name, data in valid.items():
        write("idx", name + ".idx", data)
        write("idx", name + ".idx.gz", gz(data))
    u8 = valid["u8"]
    write("idx", "two-members.gz", gz(u8[:7]) + gz(u8[7:]))
    bad = {
        "empty": b"",
        "one-byte": b"\x00",
        "bad-magic": b"\x01\x02\x08\x01\x00\x00\x00\x01\x00",
        "unknown-type": b"\x00\x00\x07\x01\x00\x00\x00\x01\x00",
        "zero-dims": b"\x00\x00\x08\x00",
        "nine-dims": b"\x00\x00\x08\x09" + b"\x00\x00\x00\x01" * 9 + b"\x00",
        "truncated-header": b"\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00",
        "zero-dimension": idx(0x08, [3, 0], b""),
        "overflow": idx(0x0E, [0xFFFFFFFF] * 8, b""),
        "short-payload": idx(0x08, [2, 3], b"\x01\x02\x03\x04"),
        "huge-claim": idx(0x08, [65536, 65536], b"\x01" * 8),
        "huge-claim-f64": idx(0x0E, [65536, 65536, 65536], b"\x01" * 4),
        "trailing": u8 + b"\x00\x01",
    }
    for name, data in bad.items():
        write("idx", name + ".idx", data)
    write("idx", "huge-claim.gz", gz(bad["huge-claim"]))
    good_gz = gz(u8)
    block_type = bytearray(good_gz)
    block_type[10] |= 0x06
    write("idx", "gz-bad-block.gz", bytes(block_type))
    crc = bytearray(good_gz)
    crc[-8] ^= 0xFF
    write("idx", "gz-bad-crc.gz", bytes(crc))
    write("idx", "gz-truncated.gz", good_gz[:-4])
    write("idx", "gz-magic-only.gz", b"\x1f\x8b")
    write("idx", "gz-garbage-after.gz", good_gz + b"xy")
    write("idx", "gz-bad-method.gz", good_gz[:2] + b"\x09" + good_gz[3:])


# Option byte of fuzz_csv (see fuzz_csv.c): task in bits 0-1, standardize bit 2, dev fraction
# bits 3-4, test fraction 0 when bit 5 is set, label "y" bit 6, seed bit 7.
AUTO, CLASSIFY, REGRESS = 0, 1, 2
STD, DEV25, DEV50, NO_TEST, LABEL_Y, SEED1 = 4, 8, 16, 32, 64, 128


def csv(name, opts, text):
    write("csv", name + ".csv", bytes([opts]) + (text.encode() if isinstance(text, str) else text))


def csv_corpus():
    iris = "sepal,petal,species\n" + "".join(
        f"{1 + i * 0.1:.1f},{2 + (i * 7) % 5},{['setosa', 'versicolor', 'virginica'][i % 3]}\n"
        for i in range(12))
    csv("iris", STD | DEV25, iris)
    csv("iris-plain", NO_TEST, iris)
    csv("regression", STD | DEV25, "x,z,y\n" + "".join(f"{i},{i * i},{i * 0.5 + 0.25}\n" for i in range(10)))
    csv("regression-forced", REGRESS | STD | NO_TEST, "a,y\n1,1\n2,3\n3,5\n4,7\n")
    csv("classify-forced", CLASSIFY | NO_TEST, "a,y\n1,0.5\n2,1.5\n3,0.5\n")
    csv("int-labels", NO_TEST, "a,b,y\n1,2,0\n3,4,3\n5,6,1\n")
    csv("negative-labels", NO_TEST | STD, "a,y\n1,-1\n2,1\n3,-1\n")
    csv("label-middle", LABEL_Y | NO_TEST | STD, "a,y,b\n1,cat,2\n3,dog,4\n5,cat,6\n")
    csv("quoted", NO_TEST, '"a,1","the ""y""",b\n"1",x,2\n3,"y, z",4\n')
    csv("multiline-label", NO_TEST, 'a,y\n1,"two\r\nlines"\n2,one\n')
    csv("crlf", NO_TEST | SEED1, "a,y\r\n1,0\r\n2,1\r\n3,0\r\n")
    csv("cr-only", NO_TEST, "a,y\r1,0\r2,1\r")
    csv("bom", NO_TEST, b"\xef\xbb\xbfa,y\n1,0\n2,1\n")
    csv("blank-tail", NO_TEST, "a,y\n1,0\n2,1\n\n  \n\n")
    csv("spaces", NO_TEST, " a , y \n 1 ,\t0\n2 , 1\n")
    csv("constant-feature", STD | NO_TEST, "c,v,y\n5,1,0\n5,2,1\n5,3,0\n")
    csv("tiny-numbers", STD | NO_TEST, "a,y\n1e-400,0\n1e-38,1\n0,0\n")
    csv("far-test", STD, "a,y\n0,0\n1e-38,1\n0,0\n0,1\n3e38,0\n")
    csv("empty", NO_TEST, "")
    csv("blank-only", NO_TEST, "\n\n \r\n")
    csv("header-only", NO_TEST, "a,b,y\n")
    csv("numeric-header", NO_TEST, "1,2,3\n4,5,6\n")
    csv("blank-first", NO_TEST, "\na,y\n1,0\n")
    csv("one-column", NO_TEST, "y\n1\n2\n")
    csv("bad-cell", NO_TEST, "a,b,y\n1,2,0\n3,x,1\n")
    csv("hex-cell", NO_TEST, "a,y\n0x10,0\n2,1\n")
    csv("nan-cell", NO_TEST, "a,b,y\n1,nan,0\n2,3,1\n")
    csv("inf-label", NO_TEST, "a,y\n1,-inf\n2,1\n")
    csv("range-cell", NO_TEST, "a,y\n1e39,0\n2,1\n")
    csv("empty-cell", NO_TEST, "a,b,y\n1,,0\n")
    csv("ragged-short", NO_TEST, "a,b,y\n1,2,0\n3,4\n")
    csv("ragged-long", NO_TEST, "a,b,y\n1,2,0,9\n")
    csv("blank-middle", NO_TEST, "a,y\n1,0\n\n2,1\n")
    csv("stray-quote", NO_TEST, 'a,y\n1"2,0\n')
    csv("after-quote", NO_TEST, 'a,y\n"1"x,0\n')
    csv("unterminated", NO_TEST, 'a,y\n1,0\n"2,1\n')
    csv("nul-byte", NO_TEST, b"a,y\n1\x00,0\n")
    csv("unknown-label", LABEL_Y | NO_TEST, "a,b,why\n1,2,0\n")
    csv("ambiguous-label", LABEL_Y | NO_TEST, "y,a,y\n1,2,3\n")
    csv("single-class", NO_TEST, "a,y\n1,cat\n2,cat\n")
    csv("regression-text", REGRESS | NO_TEST, "a,y\n1,2.5\n2,cat\n")
    csv("too-few-rows", DEV50 | DEV25, "a,y\n1,0.5\n2,1.5\n")


if __name__ == "__main__":
    idx_corpus()
    csv_corpus()
