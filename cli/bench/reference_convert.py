#!/usr/bin/env python3
"""Straightforward Python implementation of the Genesys -> Lex designer conversion, timed.

The baseline for the Rust benchmark (functions/genesys-lex/core/benches/convert.rs): json.loads the whole
document, loop over transcripts and phrases, map roles, build the Lex dict, json.dumps it
(compact, like the Rust output: --compare checks the bytes are the same). Standard library
only.

    MLPIPE_BENCH_DUMP=/tmp/doc.json cargo bench -p genesys-lex-core --bench convert -- --test
    python3 cli/bench/reference_convert.py /tmp/doc.json
    # check it is the same algorithm: compare with the CLI's output for the same document
    mlpipe transcripts convert /tmp/doc.json --out /tmp/rust-out
    python3 cli/bench/reference_convert.py /tmp/doc.json --compare /tmp/rust-out/*.json

Prints MB/s (10^6 bytes per second of input) for json.loads alone, the whole conversion, and
the conversion with PII redaction, on one core.
"""

import argparse
import datetime
import json
import re
import sys
import time

VERSION = "1.1.0"

EMAIL = re.compile(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b")
CARD = re.compile(r"\b\d(?:[ \-]?\d){12,18}\b")
SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
PHONE = re.compile(
    r"(?:\+?\b1[ .\-]?)?(?:\(\d{3}\)|\b\d{3})[ .\-]?\d{3}[ .\-]?\d{4}\b|\+\d{1,3}(?:[ .\-]?\d{2,4}){2,5}\b"
)


def luhn(candidate):
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def redact(text):
    text = EMAIL.sub("[PII]", text)
    text = CARD.sub(lambda m: "[PII]" if luhn(m.group(0)) else m.group(0), text)
    text = SSN.sub("[PII]", text)
    return PHONE.sub("[PII]", text)


def role(purpose):
    return "CUSTOMER" if (purpose or "").lower() in ("external", "customer") else "AGENT"


def is_english_us(lang):
    return lang.strip().lower().replace("_", "-") == "en-us"


def convert(data, redact_pii=False):
    """Returns (file name, body bytes), or None when the conversation is skipped."""
    doc = json.loads(data)
    cid = doc["conversationId"]
    start = doc.get("conversationStartTime") or doc.get("startTime")
    if start is None:
        start = min(p["startTimeMs"] for t in doc["transcripts"] for p in t["phrases"] if "startTimeMs" in p)
    turns = []
    for t_index, tr in enumerate(doc["transcripts"]):
        lang = tr.get("language")
        if lang is not None and not is_english_us(lang):
            continue
        tid = tr.get("transcriptId")
        transcript_end = None
        if tr.get("startTime") is not None and (tr.get("duration") or {}).get("milliseconds") is not None:
            transcript_end = tr["startTime"] + tr["duration"]["milliseconds"] - start
        own = []
        for p_index, ph in enumerate(tr.get("phrases") or []):
            content = ph.get("decoratedText")
            if not content or not content.strip():
                content = ph.get("text")
            if not content or not content.strip():
                continue
            if ph.get("startTimeMs") is not None:
                begin = ph["startTimeMs"] - start
            else:
                begin = ph["offset"]["milliseconds"]
            begin = max(begin, 0)
            length = (ph.get("duration") or {}).get("milliseconds")
            end = begin + max(length, 0) if length is not None else None
            ix = ph.get("phraseIndex")
            if tid is not None:
                turn_id = f"{tid}-{ix}" if ix is not None else f"{tid}-p{p_index}"
            else:
                turn_id = f"c0-t{t_index}-{ix}" if ix is not None else f"c0-t{t_index}-p{p_index}"
            content = content.strip()
            if redact_pii:
                content = redact(content)
            own.append(
                {
                    "ParticipantId": role(ph.get("participantPurpose")),
                    "Id": turn_id,
                    "Content": content,
                    "BeginOffsetMillis": begin,
                    "EndOffsetMillis": end,
                }
            )
        own.sort(key=lambda t: t["BeginOffsetMillis"])
        for i, t in enumerate(own):
            if t["EndOffsetMillis"] is None:
                nxt = own[i + 1]["BeginOffsetMillis"] if i + 1 < len(own) else transcript_end
                t["EndOffsetMillis"] = max(nxt if nxt is not None else t["BeginOffsetMillis"], t["BeginOffsetMillis"])
        turns.extend(own)
    if not turns:
        return None
    turns.sort(key=lambda t: t["BeginOffsetMillis"])
    participants = []
    for t in turns:
        if not any(p["ParticipantId"] == t["ParticipantId"] for p in participants):
            participants.append({"ParticipantId": t["ParticipantId"], "ParticipantRole": t["ParticipantId"]})
    out = {
        "Participants": participants,
        "Version": VERSION,
        "ContentMetadata": {"RedactionTypes": ["PII"], "Output": "Redacted" if redact_pii else "Raw"},
        "CustomerMetadata": {"ContactId": cid},
        "Transcript": turns,
    }
    body = (json.dumps(out, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
    stamp = datetime.datetime.fromtimestamp(start // 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{cid}_analysis_{stamp}.json", body


def measure(label, fn, size, seconds):
    """Runs fn repeatedly for about `seconds`; prints the best and mean MB/s."""
    fn()  # warm up
    times = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 5:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    best, mean = min(times), sum(times) / len(times)
    print(
        f"{label:<22} {size / best / 1e6:8.1f} MB/s best  {size / mean / 1e6:8.1f} MB/s mean"
        f"  ({mean * 1e3:.3f} ms/doc, {len(times)} runs)"
    )
    return size / best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("document", help="a Genesys transcript document (e.g. from MLPIPE_BENCH_DUMP)")
    ap.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    ap.add_argument("--compare", metavar="FILE", help="check the output bytes equal this file (e.g. the mlpipe output)")
    ap.add_argument("--redact-pii", action="store_true", help="with --compare: convert with redaction")
    args = ap.parse_args()

    with open(args.document, "rb") as f:
        data = f.read()
    size = len(data)

    if args.compare:
        result = convert(data, args.redact_pii)
        with open(args.compare, "rb") as f:
            expected = f.read()
        if result is None or result[1] != expected:
            print(f"DIFFERENT from {args.compare}", file=sys.stderr)
            return 1
        print(f"identical to {args.compare} ({len(expected)} bytes, name {result[0]})")
        return 0

    print(f"{args.document}: {size} bytes, Python {sys.version.split()[0]}, one core")
    measure("json.loads", lambda: json.loads(data), size, args.seconds)
    measure("convert", lambda: convert(data), size, args.seconds)
    measure("convert --redact-pii", lambda: convert(data, True), size, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
