import asyncio
import os


async def _score(word):
    await asyncio.sleep(0)
    return sum(ord(c) - 96 for c in word.lower() if c.isalpha())


def handler(event, context):
    scores = asyncio.run(_gather(event["words"]))
    return {"scores": scores, "best": max(scores, key=scores.get), "table": os.environ["SCORES_TABLE"]}


async def _gather(words):
    values = await asyncio.gather(*(_score(w) for w in words))
    return dict(zip(words, values))
