#!/usr/bin/env python3
"""Writes the small PNG seeds of this directory (run from it; standard library only).

Each is a shape the decoder handles differently: 1-bit and 16-bit grey, transparency, a
palette with tRNS, Adam7 interlacing, and a header claiming 16384x16384 (the issue 14 bomb:
refused from the header). scripts/fuzz.sh prefixes each image with the selector byte.
"""
import struct
import zlib


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png(name, width, height, depth, colour, rows, extra=b"", interlace=0, idat=None):
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    data = idat if idat is not None else zlib.compress(b"".join(b"\x00" + r for r in rows), 9)
    with open(name, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra
                + chunk(b"IDAT", data) + chunk(b"IEND", b""))


# 1-bit grey, 16x16: a checkerboard (two bytes a row).
png("grey1-16x16.png", 16, 16, 1, 0, [bytes([0xAA, 0x55] if y % 2 else [0x55, 0xAA]) for y in range(16)])
# 16-bit grey, 9x7: a ramp.
png("grey16-9x7.png", 9, 7, 16, 0, [b"".join(struct.pack(">H", (x * 7000 + y * 900) & 0xFFFF) for x in range(9)) for y in range(7)])
# RGBA, 12x10: transparent left half, opaque right half.
png("rgba-12x10.png", 12, 10, 8, 6, [b"".join(bytes([200, 30, 30, 0 if x < 6 else 255]) for x in range(12)) for y in range(10)])
# Palette of four colours with tRNS, 8x8, 2 bits a pixel.
png("palette-8x8.png", 8, 8, 2, 3, [bytes([0x1B, 0xE4]) for _ in range(8)],
    extra=chunk(b"PLTE", bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255])) + chunk(b"tRNS", bytes([255, 128, 0])))
# RGB, 13x11, Adam7 interlaced: the passes written as one image of filter-0 rows per pass.
passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
raw = b""
for x0, y0, dx, dy in passes:
    cols = len(range(x0, 13, dx))
    for y in range(y0, 11, dy):
        if cols:
            raw += b"\x00" + bytes([(x * 19 + y * 23) & 0xFF for x in range(cols * 3)])
png("rgb-interlaced-13x11.png", 13, 11, 8, 2, [], interlace=1, idat=zlib.compress(raw, 9))
# The bomb's header: 16384x16384 1-bit grey, with pixel data that is not real.
png("bomb-header-16384x16384.png", 16384, 16384, 1, 0, [], idat=b"\x78\x01\x00")
