#!/usr/bin/env python3
"""Demo step: Segment -> Personalize through the local cloud (run by scripts/demo.sh, with the
environment of `scripts/localcloud.sh env`).

1. GET /recommendations/<shopper> before any event (the recommendations function, invoked with
   an API Gateway HTTP API event through the Lambda Invoke API).
2. The sample Segment messages of events/segment, each invoked on the forwarder as Segment's
   AWS Lambda destination does, and a batch of shoppers' product views through the SQS queue.
3. GET /recommendations/<shopper> again with other parameters (a cache miss: the emulated
   Personalize answers from the events it received), then once more (a cache hit).
"""
import glob
import json
import os
import sys
import time
import urllib.parse
import urllib.request

import boto3
from botocore.config import Config

EMULATOR = os.environ.get("LOCALCLOUD_EMULATOR_URL", "http://127.0.0.1:4568")
SHOPPER = f"demo-shopper-{int(time.time())}"
# Names come from the deployed stack, as they would from `aws cloudformation describe-stacks`.
STACK = json.load(open(os.environ["LOCALCLOUD_STACK_FILE"]))
FORWARDER = STACK["resources"]["SegmentPersonalizeForwarder"]["physicalId"]
RECOMMENDATIONS = STACK["resources"]["Recommendations"]["physicalId"]
LAMBDA = boto3.client("lambda", config=Config(read_timeout=60, retries={"max_attempts": 1}))


def invoke(function, payload):
    answer = LAMBDA.invoke(FunctionName=function, Payload=json.dumps(payload).encode())
    body = json.load(answer["Payload"])
    if answer.get("FunctionError"):
        raise SystemExit(f"{function} failed: {body}")
    return body


def recommendations(user, query):
    event = json.load(open("events/apigw/recommendations-user.json"))
    path = f"/recommendations/{user}"
    event["rawPath"] = path
    event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {"userId": user}
    event["queryStringParameters"] = query
    event["rawQueryString"] = urllib.parse.urlencode(query)
    answer = invoke(RECOMMENDATIONS, event)
    body = json.loads(answer["body"])
    items = [i["itemId"] for i in body.get("itemList", [])]
    print(f"    GET {path}?{event['rawQueryString']}: HTTP {answer['statusCode']}, "
          f"cache {body.get('cache')}, items {items}")
    if answer["statusCode"] != 200:
        raise SystemExit(f"recommendations answered {answer['statusCode']}: {body}")
    return body


print("  before any event:")
recommendations(SHOPPER, {"numResults": "5"})

print("  Segment's Lambda destination: the sample messages of events/segment")
for path in sorted(glob.glob("events/segment/segment_*.json")):
    out = invoke(FORWARDER, json.load(open(path)))
    detail = out.get("reason") or out.get("error") or f"{out.get('events', 0)} event(s), {out.get('users', 0)} user(s)"
    print(f"    {os.path.basename(path):<48} {out['status']}: {detail}")

print("  SQS: 12 product views of 4 shoppers in two batches")
sqs = boto3.client("sqs")
queue = STACK["outputs"]["SegmentEventsQueueUrl"]
views = []
for n, (shopper, product) in enumerate([(s, p) for s in range(4) for p in ("sku-lamp", "sku-desk", "sku-chair")]):
    views.append({
        "type": "track", "event": "Product Viewed", "messageId": f"demo-{SHOPPER}-{n}",
        "anonymousId": f"anon-{SHOPPER}-{shopper}", "userId": f"{SHOPPER}-friend-{shopper}",
        "timestamp": "2026-11-24T10:00:00Z",
        "properties": {"productId": product, "price": 49.0},
    })
for start in (0, 10):
    entries = [{"Id": str(i), "MessageBody": json.dumps(m)} for i, m in enumerate(views[start:start + 10])]
    sqs.send_message_batch(QueueUrl=queue, Entries=entries)
deadline = time.time() + 60
while time.time() < deadline:
    seen = json.load(urllib.request.urlopen(f"{EMULATOR}/_emulator/personalize/events", timeout=10))
    got = sum(len(r.get("eventList", [])) for r in seen.get("events", [])
              if str(r.get("sessionId", "")).startswith(f"anon-{SHOPPER}-"))
    if got >= len(views):
        break
    time.sleep(0.5)
print(f"    the emulated Personalize recorded {got} of the {len(views)} views")
if got < len(views):
    raise SystemExit("not every view reached Personalize (see .localcloud/relay.log and functions.log)")

print("  after the events (other parameters: a new cache entry), then the same again:")
after = recommendations(SHOPPER, {"numResults": "4"})
again = recommendations(SHOPPER, {"numResults": "4"})
if after.get("cache") != "miss" or again.get("cache") != "hit" or not after.get("itemList"):
    raise SystemExit("expected a miss with recommendations, then a hit")
