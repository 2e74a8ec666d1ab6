"""Word count over a bucket. The bucket and table names come from the function's environment, as they
would on AWS; the local store stands in for S3 and DynamoDB."""

import os

from stepmap import objects, table

WORDS = ["step", "map", "lambda", "state", "bucket", "table", "item", "child"]


def _counts():
    return table(os.environ["TABLE"], partition_key="key")


def seed(event, context):
    store = objects()
    for i in range(event["files"]):
        text = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(i + 1))
        store.put(os.environ["BUCKET"], f"texts/{i:03d}.txt", text.encode())
    return {"written": event["files"]}


def count_words(event, context):
    data = objects().get(os.environ["BUCKET"], event["Key"]).decode()
    counts = {}
    for word in data.split():
        counts[word] = counts.get(word, 0) + 1
    _counts().put_item({"key": event["Key"], "counts": counts, "words": sum(counts.values())})
    return {"key": event["Key"], "words": sum(counts.values())}


def total(event, context):
    totals = {}
    files = 0
    for item in _counts().scan():
        files += 1
        for word, n in item["counts"].items():
            totals[word] = totals.get(word, 0) + int(n)
    return {"files": files, "words": sum(totals.values()), "byWord": dict(sorted(totals.items()))}
