#!/usr/bin/env python3
"""Generates a corpus of Genesys Cloud transcript documents for `mlpipe transcripts convert`.

The documents have the published shape (/work/shared/formats/genesys_transcript_document_example.json,
and the generator of functions/genesys-lex/core/benches/convert.rs): organization, conversation
and communication ids, start times, participants, and per channel a transcript with phrases
carrying word-level detail (`words[]`), and analytics (sentiment, topics).

Layout, as the fetcher writes the raw bucket: one folder per conversation with one document per
communication (1-3), `<out>/<conversationId>/<communicationId>.json`; a share of the conversations
(--loose-percent) is written as loose files instead, `<out>/<conversationId>-<communicationId>.json`.

--awkward adds what real backfills meet: a conversation spread over its folder, a loose file and
another folder; documents filed in another conversation's folder (one starting earlier than its
conversation); malformed documents (cut short, a numeric id, an untimed phrase, invalid UTF-8,
empty, not an object); a byte-order mark; the id after the transcripts and an escaped member
name; Spanish-only, language-switching and transcript-less conversations; deeper paths.

Deterministic: the same arguments write the same bytes. Python standard library only.

    python3 cli/bench/make_corpus.py --out /tmp/corpus --size-mb 100 [--seed 1] [--awkward]
"""

import argparse
import json
import os
import random
import sys

WORDS = (
    "i you we it the a to and of my your is was that this for on in with can could would will "
    "have has just order account card payment delivery package address appointment number email "
    "phone refund replacement tracking warehouse shipping check change cancel update confirm "
    "verify help need want see thanks thank okay sure yes no great perfect sorry please today "
    "tomorrow monday friday morning afternoon week minute moment let me look up right now again "
    "still already since supposed arrive arrived moved sent send text call back last new old same "
    "different service store online website app code balance charge fee credit statement billing "
    "problem issue question"
).split()
SHORT = ["yes", "no", "okay", "thank you", "sure", "yes please", "that's right", "one moment",
         "got it", "perfect", "mm-hmm", "great thanks"]
PII = ["my number is 555 014 7788", "it's jane.doe@example.com",
       "the card is 4111 1111 1111 1111", "call me back at (555) 010-2233"]
TOPICS = ["Order status", "Billing", "Greeting", "Closing", "Address change"]


def uuid(rng):
    h = "%032x" % rng.getrandbits(128)
    return "%s-%s-4%s-%x%s-%s" % (h[:8], h[8:12], h[13:16], 8 + rng.randrange(4), h[17:20], h[20:32])


def sentence(rng):
    if rng.random() < 0.25:
        return rng.choice(SHORT)
    r = rng.randrange(100)
    n = rng.randint(2, 6) if r < 65 else rng.randint(7, 12) if r < 93 else rng.randint(13, 24)
    words = [rng.choice(WORDS) for _ in range(n)]
    if rng.random() < 0.06:
        words.insert(rng.randrange(len(words) + 1), rng.choice(PII))
    return " ".join(words)


def phrase_json(rng, index, purpose, channel, start_ms, origin):
    """One phrase with its words; returns (json, end_ms, text)."""
    text = sentence(rng)
    decorated = text[0].upper() + text[1:] + "."
    t = start_ms
    words = []
    for w in text.split(" "):
        length = rng.randint(120, 480)
        words.append(
            '            {"word": "%s", "confidence": 0.%d, "startTimeMs": %d, "offset": '
            '{"milliseconds": %d}, "duration": {"milliseconds": %d}}'
            % (w, rng.randint(700, 999), t, t - origin, length))
        t += length + rng.randint(10, 90)
    body = (
        '        {\n          "phraseIndex": %d,\n          "text": "%s",\n'
        '          "decoratedText": "%s",\n          "stability": 0.%d,\n'
        '          "confidence": 0.%d,\n          "startTimeMs": %d,\n'
        '          "offset": {"milliseconds": %d},\n          "duration": {"milliseconds": %d},\n'
        '          "words": [\n%s\n          ],\n          "participantPurpose": "%s",\n'
        '          "channelId": %d\n        }'
        % (index, text, decorated, rng.randint(80, 99), rng.randint(700, 999), start_ms,
           start_ms - origin, t - start_ms, ",\n".join(words), purpose, channel))
    return body, t, text


def analytics(rng, purpose, texts, origin):
    sentiment = []
    topics = []
    for i, (text, start, end) in enumerate(texts):
        if rng.random() < 0.12:
            sentiment.append(
                '          {"participant": "%s", "phrase": "%s", "startTimeMs": %d, '
                '"offset": {"milliseconds": %d}, "duration": {"milliseconds": %d}, '
                '"sentiment": %.2f, "phraseIndex": %d}'
                % (purpose, text, start, start - origin, end - start,
                   rng.randint(-10, 10) / 10, i))
        if i % 9 == 0:
            topics.append(
                '          {"participant": "%s", "topicId": "%s", "topicName": "%s", '
                '"topicPhrase": "%s", "transcriptPhrase": "%s", "confidence": 0.%d, '
                '"startTimeMs": %d, "offset": {"milliseconds": %d}, '
                '"duration": {"milliseconds": %d}}'
                % (purpose, uuid(rng), rng.choice(TOPICS), " ".join(text.split(" ")[:4]), text,
                   rng.randint(700, 999), start, start - origin, end - start))
    return ('      "analytics": {\n        "sentiment": [\n%s\n        ],\n'
            '        "topics": [\n%s\n        ]\n      }'
            % (",\n".join(sentiment), ",\n".join(topics)))


def document(rng, conversation_id, communication_id, origin, begin, target, language="en-US",
             id_last=False, escaped_name=False):
    """A communication's document of about `target` bytes whose phrases start at `begin`.
    Returns (text, end_ms)."""
    channels = ([], [])  # (json, start, end, text) per channel: agent, customer
    t = begin + rng.randint(500, 1500)
    size = 4000
    speaker = 0
    while size < target:
        index = len(channels[speaker])
        purpose, channel = (("ivr" if index == 0 else "internal"), 1) if speaker == 0 else ("external", 0)
        body, end, text = phrase_json(rng, index, purpose, channel, t, origin)
        channels[speaker].append((body, t, end, text))
        size += len(body) + 2
        t = end + rng.randint(200, 2500)
        if rng.random() >= 0.25:
            speaker = 1 - speaker
    end = t
    transcripts = []
    for purpose, phrases in (("internal", channels[0]), ("external", channels[1])):
        first = phrases[0][1] if phrases else begin
        transcripts.append(
            '    {\n      "transcriptId": "%s",\n      "language": "%s",\n'
            '      "programId": "%s",\n      "engineId": "r2d2",\n      "startTime": %d,\n'
            '      "duration": {"milliseconds": %d},\n      "phrases": [\n%s\n      ],\n%s\n    }'
            % (uuid(rng), language, uuid(rng), first, end - first,
               ",\n".join(p[0] for p in phrases),
               analytics(rng, purpose, [(p[3], p[1], p[2]) for p in phrases], origin)))
    name = "conversation\\u0049d" if escaped_name else "conversationId"
    head = '  "organizationId": "%s",\n' % uuid(rng)
    id_member = '  "%s": "%s",\n' % (name, conversation_id)
    members = (
        '  "communicationId": "%s",\n  "mediaType": "call",\n  "conversationStartTime": %d,\n'
        '  "startTime": %d,\n  "duration": {"milliseconds": %d},\n  "participants": [\n'
        '    {"participantPurpose": "customer", "initialDirection": "inbound", '
        '"ani": "tel:+15555550147", "dnis": "tel:+18005550100", "startTimeMs": %d, "endTimeMs": %d},\n'
        '    {"participantPurpose": "ivr", "flowId": "%s", "flowVersion": "12.0", '
        '"startTimeMs": %d, "endTimeMs": %d},\n'
        '    {"participantPurpose": "agent", "userId": "%s", "queueId": "%s", '
        '"startTimeMs": %d, "endTimeMs": %d}\n  ],\n'
        % (communication_id, origin, begin, end - begin, begin, end, uuid(rng), begin, begin + 30000,
           uuid(rng), uuid(rng), begin + 30000, end))
    body = '  "transcripts": [\n%s\n  ]' % ",\n".join(transcripts)
    if id_last:
        text = "{\n" + head + members + body + ",\n" + id_member.rstrip(",\n") + "\n}\n"
    else:
        text = "{\n" + head + id_member + members + body + "\n}\n"
    return text, end


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return len(data) if isinstance(data, bytes) else len(data.encode())


def conversation(rng, out, loose_percent, doc_kb):
    """Writes one conversation; returns (files, bytes)."""
    cid = uuid(rng)
    origin = 1_748_736_000_000 + rng.randrange(180 * 86_400_000)
    n = rng.choices((1, 2, 3), weights=(60, 30, 10))[0]
    loose = rng.randrange(100) < loose_percent
    files = total = 0
    begin = origin
    for _ in range(n):
        comm = uuid(rng)
        target = int(doc_kb * 1000 * rng.uniform(0.3, 1.7))
        text, end = document(rng, cid, comm, origin, begin, target)
        begin = end + rng.randint(2000, 20000)
        path = os.path.join(out, "%s-%s.json" % (cid, comm)) if loose else os.path.join(out, cid, comm + ".json")
        total += write(path, text)
        files += 1
    return files, total


def awkward(rng, out):
    """The unusual cases; returns (files, conversations, bytes)."""
    files = total = 0
    conversations = 0

    def put(rel, data):
        nonlocal files, total
        files += 1
        total += write(os.path.join(out, rel), data)

    # A conversation spread over its folder, a loose file and another folder (three legs).
    cid = uuid(rng)
    origin = 1_750_000_000_000
    begin = origin
    for rel in ("%s/leg-1.json", "loose-%s-leg-2.json", "elsewhere/%s/leg-3.json"):
        text, end = document(rng, cid, uuid(rng), origin, begin, 40_000)
        begin = end + 5000
        put(rel % cid, text)
    conversations += 1
    # Filed in another conversation's folder: the folder's own document, and a stranger (whose
    # conversation also has a document of its own, starting later than the stranger).
    host, stranger = uuid(rng), uuid(rng)
    put("%s/own.json" % host, document(rng, host, uuid(rng), origin + 10_000, origin + 10_000, 30_000)[0])
    put("%s/stranger.json" % host, document(rng, stranger, uuid(rng), origin - 60_000, origin - 60_000, 30_000)[0])
    put("%s/home.json" % stranger, document(rng, stranger, uuid(rng), origin, origin, 30_000)[0])
    # A stranger alone in a folder named after no conversation at all.
    lonely = uuid(rng)
    put("not-a-conversation/%s.json" % lonely, document(rng, lonely, uuid(rng), origin, origin, 20_000)[0])
    conversations += 3
    # A byte-order mark; the id after the transcripts; an escaped member name.
    bom = uuid(rng)
    put("%s/bom.json" % bom, b"\xef\xbb\xbf" + document(rng, bom, uuid(rng), origin, origin, 20_000)[0].encode())
    last = uuid(rng)
    put("%s/last.json" % last, document(rng, last, uuid(rng), origin, origin, 150_000, id_last=True)[0])
    escaped = uuid(rng)
    put("%s/escaped.json" % escaped, document(rng, escaped, uuid(rng), origin, origin, 20_000, escaped_name=True)[0])
    conversations += 3
    # Skipped: Spanish only; no transcripts. Left out: a Spanish leg of an English conversation.
    spanish = uuid(rng)
    put("%s/es.json" % spanish, document(rng, spanish, uuid(rng), origin, origin, 20_000, language="es-US")[0])
    hangup = uuid(rng)
    put("%s/ivr.json" % hangup, json.dumps({"conversationId": hangup, "communicationId": uuid(rng),
                                            "conversationStartTime": origin, "startTime": origin}))
    mixed = uuid(rng)
    put("%s/en.json" % mixed, document(rng, mixed, uuid(rng), origin, origin, 20_000)[0])
    put("%s/es.json" % mixed, document(rng, mixed, uuid(rng), origin, origin + 600_000, 20_000, language="es-US")[0])
    conversations += 3
    # Malformed, among good documents of their own conversations.
    cut = uuid(rng)
    whole = document(rng, cut, uuid(rng), origin, origin, 20_000)[0]
    put("%s/good.json" % cut, document(rng, cut, uuid(rng), origin, origin, 20_000)[0])
    put("%s/cut.json" % cut, whole[: len(whole) // 2])
    conversations += 1
    put("numeric-id.json", '{"conversationId": 5, "transcripts": []}')
    untimed = uuid(rng)
    put("%s/untimed.json" % untimed, json.dumps({
        "conversationId": untimed, "conversationStartTime": origin,
        "transcripts": [{"language": "en-US", "phrases": [{"participantPurpose": "external", "text": "no time"}]}]}))
    # The untimed document's conversation has a good document too: the conversation fails.
    put("%s/fine.json" % untimed, document(rng, untimed, uuid(rng), origin, origin, 20_000)[0])
    conversations += 1
    put("invalid-utf8.json", b'{"conversationId": "' + uuid(rng).encode() + b'", "transcripts": [{"phrases": [{"text": "\xff"}]}]}')
    put("empty.json", b"")
    put("array.json", b"[]")
    put("a/b/c/deep.json", document(rng, uuid(rng), uuid(rng), origin, origin, 20_000)[0])
    conversations += 1
    return files, conversations, total


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="directory to write (must not exist or be empty)")
    p.add_argument("--size-mb", type=float, required=True, help="total size to write, MB (10^6 bytes)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--doc-kb", type=float, default=250, help="mean document size, kB (default 250)")
    p.add_argument("--loose-percent", type=int, default=10, help="conversations written as loose files")
    p.add_argument("--awkward", action="store_true", help="add the unusual cases (see above)")
    a = p.parse_args()
    if os.path.exists(a.out) and os.listdir(a.out):
        sys.exit("%s exists and is not empty" % a.out)
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    files = conversations = total = 0
    if a.awkward:
        files, conversations, total = awkward(rng, a.out)
    while total < a.size_mb * 1e6:
        f, b = conversation(rng, a.out, a.loose_percent, a.doc_kb)
        files += f
        total += b
        conversations += 1
    print("%d files, %d conversations, %d bytes" % (files, conversations, total))


if __name__ == "__main__":
    main()
