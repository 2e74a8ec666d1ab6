"""Handlers written the way AWS samples write them: a module-level boto3 client, no endpoint, no keys."""

import json

import boto3

s3 = boto3.client("s3")


def writer(event, context):
    bucket = event["bucket"]
    s3.create_bucket(Bucket=bucket)
    for i in range(event["count"]):
        s3.put_object(Bucket=bucket, Key=f"in/{i:03d}.json", Body=json.dumps({"n": i}).encode())
    return {"written": event["count"]}


def reader(event, context):
    obj = s3.get_object(Bucket="handler-demo", Key=event["Key"])
    n = json.loads(obj["Body"].read())["n"]
    s3.put_object(Bucket="handler-demo", Key=f"out/{n:03d}.txt", Body=str(n * n).encode())
    return {"key": event["Key"], "square": n * n}
