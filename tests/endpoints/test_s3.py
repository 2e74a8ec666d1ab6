"""The S3 endpoint with real clients (boto3, the AWS CLI, pyarrow) and with bad input."""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from stepmap.endpoints import EndpointServer
from stepmap.storage.local import ESCAPED_DIR
from tests.endpoints.conftest import s3_client


def code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def raw(endpoint: EndpointServer, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


@pytest.fixture
def bucket(s3: Any) -> str:
    s3.create_bucket(Bucket="bkt")
    return "bkt"


# -- buckets ---------------------------------------------------------------------------------------
def test_bucket_lifecycle(s3: Any) -> None:
    assert s3.list_buckets()["Buckets"] == []
    s3.create_bucket(Bucket="one")
    s3.create_bucket(Bucket="one")  # us-east-1: creating your own bucket again succeeds
    s3.head_bucket(Bucket="one")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["one"]
    s3.put_object(Bucket="one", Key="k", Body=b"x")
    with pytest.raises(ClientError) as info:
        s3.delete_bucket(Bucket="one")
    assert code(info) == "BucketNotEmpty"
    s3.delete_object(Bucket="one", Key="k")
    s3.delete_bucket(Bucket="one")
    with pytest.raises(ClientError) as info:
        s3.head_bucket(Bucket="one")
    assert code(info) == "404"
    with pytest.raises(ClientError) as info:
        s3.list_objects_v2(Bucket="one")
    assert code(info) == "NoSuchBucket"
    assert info.value.response["Error"]["BucketName"] == "one"


def test_invalid_bucket_name(endpoint: EndpointServer) -> None:
    status, _, body = raw(endpoint, "PUT", "/Bad_Bucket")
    assert status == 400 and b"<Code>InvalidBucketName</Code>" in body


# -- objects ---------------------------------------------------------------------------------------
def test_put_get_head_with_metadata(s3: Any, bucket: str, store_root: Path) -> None:
    put = s3.put_object(
        Bucket=bucket, Key="dir/hello.txt", Body=b"hello", ContentType="text/x-mine", Metadata={"who": "me"}
    )
    assert put["ETag"] == f'"{hashlib.md5(b"hello").hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="dir/hello.txt")
    assert got["Body"].read() == b"hello"
    assert (got["ContentType"], got["Metadata"], got["ETag"]) == ("text/x-mine", {"who": "me"}, put["ETag"])
    head = s3.head_object(Bucket=bucket, Key="dir/hello.txt")
    assert head["ContentLength"] == 5 and head["Metadata"] == {"who": "me"}
    assert (store_root / bucket / "dir" / "hello.txt").read_bytes() == b"hello"  # a plain file


def test_missing_key(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="nope")
    assert code(info) == "NoSuchKey"
    assert info.value.response["Error"]["Key"] == "nope"
    with pytest.raises(ClientError) as info:
        s3.head_object(Bucket=bucket, Key="nope")
    assert code(info) == "404"
    s3.delete_object(Bucket=bucket, Key="nope")  # deleting a missing key succeeds


@pytest.mark.parametrize(
    ("spec", "expected", "content_range"),
    [
        ("bytes=0-3", b"0123", "bytes 0-3/10"),
        ("bytes=7-", b"789", "bytes 7-9/10"),
        ("bytes=-3", b"789", "bytes 7-9/10"),
        ("bytes=5-100", b"56789", "bytes 5-9/10"),
    ],
)
def test_ranged_get(s3: Any, bucket: str, spec: str, expected: bytes, content_range: str) -> None:
    s3.put_object(Bucket=bucket, Key="digits", Body=b"0123456789")
    got = s3.get_object(Bucket=bucket, Key="digits", Range=spec)
    assert got["Body"].read() == expected
    assert got["ContentRange"] == content_range
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206


def test_range_past_the_end_is_invalid_range(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="digits", Body=b"0123456789")
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="digits", Range="bytes=10-20")
    assert code(info) == "InvalidRange"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416


def test_conditional_get(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"v")["ETag"]
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="k", IfNoneMatch=etag)
    assert code(info) == "304"
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="k", IfMatch='"0000"')
    assert code(info) == "PreconditionFailed" or code(info) == "412"
    assert s3.get_object(Bucket=bucket, Key="k", IfMatch=etag)["Body"].read() == b"v"


def test_copy_object(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"payload", Metadata={"a": "1"}, ContentType="text/csv")
    s3.create_bucket(Bucket="other")
    result = s3.copy_object(Bucket="other", Key="dst/x", CopySource={"Bucket": bucket, "Key": "src"})
    assert result["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"payload").hexdigest()}"'
    got = s3.get_object(Bucket="other", Key="dst/x")
    assert (got["Body"].read(), got["Metadata"], got["ContentType"]) == (b"payload", {"a": "1"}, "text/csv")
    s3.copy_object(
        Bucket=bucket, Key="src", CopySource=f"{bucket}/src", Metadata={"b": "2"}, MetadataDirective="REPLACE"
    )
    assert s3.head_object(Bucket=bucket, Key="src")["Metadata"] == {"b": "2"}
    with pytest.raises(ClientError) as info:
        s3.copy_object(Bucket=bucket, Key="src", CopySource=f"{bucket}/src")
    assert code(info) == "InvalidRequest"
    with pytest.raises(ClientError) as info:
        s3.copy_object(Bucket=bucket, Key="x", CopySource=f"{bucket}/missing")
    assert code(info) == "NoSuchKey"


def test_delete_objects(s3: Any, bucket: str) -> None:
    for k in ("a", "b/c", "d"):
        s3.put_object(Bucket=bucket, Key=k, Body=b"")
    result = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b/c"}, {"Key": "zz"}]}
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["a", "b/c", "zz"]
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "d"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


# -- listing ---------------------------------------------------------------------------------------
TRICKY = ["a", "a/b", "a-b", "a0", "A", "ä", "+plus", "sp ace", "ctrl\x01", "%41", "a//b", "trail/", "../x"]


def test_list_v2_in_s3_byte_order_with_awkward_keys(s3: Any, bucket: str) -> None:
    for k in TRICKY:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    listed = s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in listed["Contents"]] == sorted(TRICKY, key=lambda k: k.encode())
    assert listed["KeyCount"] == len(TRICKY) and listed["IsTruncated"] is False
    for k in TRICKY:
        assert s3.get_object(Bucket=bucket, Key=k)["Body"].read() == k.encode()


def test_list_v2_delimiter_prefix_and_pages(s3: Any, bucket: str) -> None:
    keys = [f"logs/2024/{i:02d}.json" for i in range(7)] + ["logs/2025/a", "logs/readme", "top", "zeta/1"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"")
    root = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in root["CommonPrefixes"]] == ["logs/", "zeta/"]
    assert [o["Key"] for o in root["Contents"]] == ["top"]
    assert root["KeyCount"] == 3
    logs = s3.list_objects_v2(Bucket=bucket, Prefix="logs/", Delimiter="/")
    assert [p["Prefix"] for p in logs["CommonPrefixes"]] == ["logs/2024/", "logs/2025/"]
    assert [o["Key"] for o in logs["Contents"]] == ["logs/readme"]
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 3})
    seen = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert seen == sorted(keys)
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Delimiter="/", Prefix="logs/", PaginationConfig={"PageSize": 1}
    )
    entries = []
    for page in pages:
        entries += [p["Prefix"] for p in page.get("CommonPrefixes", [])] + [
            o["Key"] for o in page.get("Contents", [])
        ]
    assert entries == ["logs/2024/", "logs/2025/", "logs/readme"]
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="logs/2025/a")
    assert [o["Key"] for o in after["Contents"]] == ["logs/readme", "top", "zeta/1"]


def test_list_v1_with_marker(s3: Any, bucket: str) -> None:
    for k in ("a", "b", "c", "d/e", "d/f"):
        s3.put_object(Bucket=bucket, Key=k, Body=b"")
    first = s3.list_objects(Bucket=bucket, MaxKeys=2)
    assert [o["Key"] for o in first["Contents"]] == ["a", "b"] and first["IsTruncated"]
    rest = s3.list_objects(Bucket=bucket, Marker="b")
    assert [o["Key"] for o in rest["Contents"]] == ["c", "d/e", "d/f"]
    grouped = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=4)
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["d/"]
    pages = list(s3.get_paginator("list_objects").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}))
    assert [o["Key"] for p in pages for o in p["Contents"]] == ["a", "b", "c", "d/e", "d/f"]


def test_a_bad_continuation_token_is_refused(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as info:
        s3.list_objects_v2(Bucket=bucket, ContinuationToken="!!not-a-token")
    assert code(info) == "InvalidArgument"


def test_a_folder_copied_into_the_store_is_listed(
    s3: Any, bucket: str, store_root: Path, tmp_path: Path
) -> None:
    source = tmp_path / "data"
    for name in ("b.csv", "a/1.csv", "a-2.csv", ".hidden"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(name)
    shutil.copytree(source, store_root / bucket / "data")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="data/")
    assert [o["Key"] for o in listed["Contents"]] == [
        "data/.hidden",
        "data/a-2.csv",
        "data/a/1.csv",
        "data/b.csv",
    ]
    assert s3.get_object(Bucket=bucket, Key="data/a/1.csv")["Body"].read() == b"a/1.csv"


# -- multipart ------------------------------------------------------------------------------------
def test_multipart_upload_through_the_transfer_manager(s3: Any, bucket: str) -> None:
    data = os.urandom(5 * 1024 * 1024) * 2 + b"tail"
    config = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    s3.upload_fileobj(io.BytesIO(data), bucket, "big.bin", Config=config, ExtraArgs={"Metadata": {"m": "1"}})
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == len(data) and head["Metadata"] == {"m": "1"}
    out = io.BytesIO()
    s3.download_fileobj(bucket, "big.bin", out, Config=config)
    assert out.getvalue() == data
    s3.copy({"Bucket": bucket, "Key": "big.bin"}, bucket, "copy.bin", Config=config)  # UploadPartCopy
    assert s3.get_object(Bucket=bucket, Key="copy.bin")["Body"].read() == data


def test_multipart_rules(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=1, Body=b"small")["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=2, Body=b"last")["ETag"]
    parts = [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]
    with pytest.raises(ClientError) as info:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=upload, MultipartUpload={"Parts": parts}
        )
    assert code(info) == "EntityTooSmall"
    with pytest.raises(ClientError) as info:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=upload, MultipartUpload={"Parts": parts[::-1]}
        )
    assert code(info) == "InvalidPartOrder"
    with pytest.raises(ClientError) as info:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"00"'}]},
        )
    assert code(info) == "InvalidPart"
    one = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload, MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2}]}
    )
    assert one["Key"] == "k"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"last"
    with pytest.raises(ClientError) as info:
        s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload)
    assert code(info) == "NoSuchUpload"
    second = s3.create_multipart_upload(Bucket=bucket, Key="k2")["UploadId"]
    s3.abort_multipart_upload(Bucket=bucket, Key="k2", UploadId=second)
    with pytest.raises(ClientError) as info:
        s3.upload_part(Bucket=bucket, Key="k2", UploadId=second, PartNumber=1, Body=b"x")
    assert code(info) == "NoSuchUpload"


# -- presigned URLs and addressing ------------------------------------------------------------------
def test_presigned_get_and_put(s3: Any, bucket: str) -> None:
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up"}, ExpiresIn=60)
    request = urllib.request.Request(put_url, data=b"via url", method="PUT")
    assert urllib.request.urlopen(request, timeout=30).status == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "up"}, ExpiresIn=60)
    assert urllib.request.urlopen(get_url, timeout=30).read() == b"via url"


def test_an_expired_presigned_url_is_refused(endpoint: EndpointServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2F20200101%2Fus-east-1%2Fs3%2Faws4_request"
    query += "&X-Amz-Date=20200101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00"
    status, _, body = raw(endpoint, "GET", f"/{bucket}/k?{query}")
    assert status == 403 and b"<Code>AccessDenied</Code>" in body and b"expired" in body


def test_virtual_host_style(endpoint: EndpointServer, bucket: str) -> None:
    # bkt.localhost does not resolve everywhere: send the Host header by hand, as a client would.
    status, _, _ = raw(
        endpoint, "PUT", "/dir/v.txt", b"virtual", {"Host": f"{bucket}.localhost:{endpoint.port}"}
    )
    assert status == 200
    status, _, body = raw(endpoint, "GET", "/dir/v.txt", headers={"Host": f"{bucket}.localhost"})
    assert (status, body) == (200, b"virtual")
    status, _, body = raw(endpoint, "GET", "/?list-type=2", headers={"Host": f"{bucket}.s3.amazonaws.com"})
    assert status == 200 and b"<Key>dir/v.txt</Key>" in body


# -- bad input ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        b"<Delete><Object><Key>a</Key></Object>",  # not well-formed
        b"not xml at all",
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "x">]>'
        b"<Delete><Object><Key>&e;</Key></Object></Delete>",
        b"<Other/>",
        b"<Delete></Delete>",
    ],
)
def test_malformed_xml(endpoint: EndpointServer, s3: Any, bucket: str, body: bytes) -> None:
    status, _, reply = raw(endpoint, "POST", f"/{bucket}?delete", body)
    assert status == 400 and b"<Code>MalformedXML</Code>" in reply


def test_keys_with_dot_dot_stay_in_the_store(
    endpoint: EndpointServer, s3: Any, bucket: str, tmp_path: Path
) -> None:
    status, _, _ = raw(endpoint, "PUT", f"/{bucket}/../../escape", b"x")
    status2, _, _ = raw(endpoint, "PUT", f"/{bucket}/a/%2E%2E/%2E%2E/%2E%2E/escape2", b"y")
    assert (status, status2) == (200, 200)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["../../escape", "a/../../../escape2"]
    escaped = [p for p in tmp_path.rglob("*") if p.is_file() and "escape" in p.name]
    assert escaped and all(ESCAPED_DIR in p.parts for p in escaped)


def test_unknown_operations_are_not_implemented(endpoint: EndpointServer, s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as info:
        s3.get_bucket_acl(Bucket=bucket)
    assert code(info) == "NotImplemented"
    status, _, body = raw(endpoint, "PATCH", f"/{bucket}/k")
    assert status == 501 and b"<Code>NotImplemented</Code>" in body


def test_oversize_put_is_refused_before_reading(endpoint: EndpointServer, bucket: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=30)
    conn.putrequest("PUT", f"/{bucket}/huge")
    conn.putheader("Content-Length", str(6 * 1024**3))
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 400 and b"<Code>EntityTooLarge</Code>" in resp.read()
    conn.close()


def test_a_wrong_content_md5_stores_nothing(endpoint: EndpointServer, s3: Any, bucket: str) -> None:
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    status, _, body = raw(endpoint, "PUT", f"/{bucket}/k", b"payload", {"Content-MD5": wrong})
    assert status == 400 and b"<Code>BadDigest</Code>" in body
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_huge_headers_are_refused(endpoint: EndpointServer, bucket: str) -> None:
    headers = {f"x-amz-meta-pad{i}": "v" * 8000 for i in range(12)}
    status, _, body = raw(endpoint, "PUT", f"/{bucket}/k", b"x", headers)
    assert status == 400 and b"RequestHeaderSectionTooLarge" in body


def test_a_symlink_out_of_the_store_is_refused(
    s3: Any, bucket: str, store_root: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret").write_text("secret")
    (store_root / bucket / "link").symlink_to(tmp_path / "secret")
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="link")
    assert code(info) == "AccessDenied"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


# -- other clients ------------------------------------------------------------------------------------
def aws(endpoint: EndpointServer, env: dict[str, str], *args: str) -> str:
    cli = shutil.which("aws", path=os.path.dirname(sys.executable)) or shutil.which("aws")
    if cli is None:
        pytest.skip("the AWS CLI is not installed (pip install awscli; it is in the dev extra)")
    out = subprocess.run(
        [cli, "--endpoint-url", endpoint.url, *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.slow  # ~10 runs of the AWS CLI, 1-2 s each; `aws s3 ls` also runs in test_handlers
def test_aws_cli_cp_ls_sync(
    endpoint: EndpointServer, s3: Any, cli_env: dict[str, str], tmp_path: Path
) -> None:
    aws(endpoint, cli_env, "s3", "mb", "s3://cli")
    local = tmp_path / "up"
    for name in ("x.txt", "sub/y.txt", "sub/deeper/z.txt"):
        (local / name).parent.mkdir(parents=True, exist_ok=True)
        (local / name).write_text(name)
    aws(endpoint, cli_env, "s3", "cp", str(local / "x.txt"), "s3://cli/single/x.txt")
    aws(endpoint, cli_env, "s3", "sync", str(local), "s3://cli/synced")
    listing = aws(endpoint, cli_env, "s3", "ls", "--recursive", "s3://cli/")
    keys = [line.split()[-1] for line in listing.splitlines()]
    assert keys == ["single/x.txt", "synced/sub/deeper/z.txt", "synced/sub/y.txt", "synced/x.txt"]
    assert "PRE synced/" in aws(endpoint, cli_env, "s3", "ls", "s3://cli/")
    down = tmp_path / "down"
    aws(endpoint, cli_env, "s3", "sync", "s3://cli/synced", str(down))
    assert (down / "sub" / "deeper" / "z.txt").read_text() == "sub/deeper/z.txt"
    assert aws(endpoint, cli_env, "s3", "sync", str(local), "s3://cli/synced").strip() == ""  # up to date
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(9 * 1024 * 1024))  # over the CLI's 8 MiB multipart threshold
    aws(endpoint, cli_env, "s3", "cp", str(big), "s3://cli/big.bin")
    assert s3.get_object(Bucket="cli", Key="big.bin")["Body"].read() == big.read_bytes()
    aws(endpoint, cli_env, "s3", "mv", "s3://cli/single/x.txt", "s3://cli/moved/x.txt")
    aws(endpoint, cli_env, "s3", "rm", "--recursive", "s3://cli/synced")
    listing = aws(endpoint, cli_env, "s3", "ls", "--recursive", "s3://cli/")
    assert [line.split()[-1] for line in listing.splitlines()] == ["big.bin", "moved/x.txt"]


def test_pyarrow_s3_filesystem_reads_and_writes_parquet(
    endpoint: EndpointServer, s3: Any, bucket: str
) -> None:
    pa = pytest.importorskip("pyarrow")
    fs_module = pytest.importorskip("pyarrow.fs")
    pq = pytest.importorskip("pyarrow.parquet")
    fs = fs_module.S3FileSystem(
        access_key="stepmap",
        secret_key="stepmap",
        endpoint_override=endpoint.url,
        scheme="http",
        region="us-east-1",
        allow_bucket_creation=True,
    )
    table = pa.table({"n": list(range(1000)), "s": [f"row {i}" for i in range(1000)]})
    pq.write_table(table, f"{bucket}/tables/t.parquet", filesystem=fs)
    assert pq.read_table(f"{bucket}/tables/t.parquet", filesystem=fs).equals(table)
    infos = fs.get_file_info(fs_module.FileSelector(f"{bucket}/tables"))
    assert [i.path for i in infos] == [f"{bucket}/tables/t.parquet"]
    body = s3.get_object(Bucket=bucket, Key="tables/t.parquet")["Body"].read()
    assert body[:4] == b"PAR1"


# -- checksums and aws-chunked bodies -----------------------------------------------------------------
def _crc32(data: bytes) -> str:
    import zlib

    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.mark.parametrize("algorithm", ["CRC32", "SHA1", "SHA256"])
def test_sdk_checksums_are_accepted(s3: Any, bucket: str, algorithm: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"checked" * 1000, ChecksumAlgorithm=algorithm)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"checked" * 1000


def test_a_wrong_checksum_header_stores_nothing(endpoint: EndpointServer, s3: Any, bucket: str) -> None:
    status, _, body = raw(endpoint, "PUT", f"/{bucket}/k", b"payload", {"x-amz-checksum-crc32": _crc32(b"x")})
    assert status == 400 and b"<Code>BadDigest</Code>" in body
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_aws_chunked_bodies_signed_and_with_a_trailer(endpoint: EndpointServer, s3: Any, bucket: str) -> None:
    signed = (
        b"5;chunk-signature=aa\r\nhello\r\n6;chunk-signature=bb\r\n world\r\n0;chunk-signature=cc\r\n\r\n"
    )
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "x-amz-decoded-content-length": "11",
    }
    assert raw(endpoint, "PUT", f"/{bucket}/signed", signed, headers)[0] == 200
    assert s3.get_object(Bucket=bucket, Key="signed")["Body"].read() == b"hello world"
    trailer = {
        "Content-Encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-decoded-content-length": "5",
        "x-amz-trailer": "x-amz-checksum-crc32",
    }
    good = f"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:{_crc32(b'hello')}\r\n\r\n".encode()
    assert raw(endpoint, "PUT", f"/{bucket}/trailer", good, trailer)[0] == 200
    bad = f"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:{_crc32(b'other')}\r\n\r\n".encode()
    status, _, body = raw(endpoint, "PUT", f"/{bucket}/bad", bad, trailer)
    assert status == 400 and b"BadDigest" in body
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["signed", "trailer"]


def test_content_type_defaults_as_on_s3(s3: Any, bucket: str, store_root: Path) -> None:
    s3.put_object(Bucket=bucket, Key="data.json", Body=b"{}")  # no ContentType: S3 keeps binary/octet-stream
    assert s3.get_object(Bucket=bucket, Key="data.json")["ContentType"] == "binary/octet-stream"
    (store_root / bucket / "copied.json").write_bytes(b"{}")  # a file put there by hand: typed by its name
    assert s3.head_object(Bucket=bucket, Key="copied.json")["ContentType"] == "application/json"


def test_delimiter_listing_past_a_big_folder(s3: Any, bucket: str, store_root: Path) -> None:
    big = store_root / bucket / "big"
    big.mkdir()
    for i in range(300):  # more keys than the listing walks past before it restarts after the folder
        (big / f"{i:03d}").write_bytes(b"")
    for key in ("a", "big-file", "big0/x", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    root = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in root["CommonPrefixes"]] == ["big/", "big0/"]
    assert [o["Key"] for o in root["Contents"]] == ["a", "big-file", "c"]
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 1}
    )
    seen = [
        e
        for p in pages
        for e in [x["Prefix"] for x in p.get("CommonPrefixes", [])]
        + [o["Key"] for o in p.get("Contents", [])]
    ]
    assert seen == ["a", "big-file", "big/", "big0/", "c"]


def test_conditional_writes(s3: Any, bucket: str) -> None:
    first = s3.put_object(Bucket=bucket, Key="lock", Body=b"1", IfNoneMatch="*")["ETag"]
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=bucket, Key="lock", Body=b"2", IfNoneMatch="*")
    assert code(info) == "PreconditionFailed"
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=bucket, Key="lock", Body=b"3", IfMatch='"0123"')
    assert code(info) == "PreconditionFailed"
    s3.put_object(Bucket=bucket, Key="lock", Body=b"4", IfMatch=first)
    assert s3.get_object(Bucket=bucket, Key="lock")["Body"].read() == b"4"
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=bucket, Key="missing", Body=b"5", IfMatch=first)
    assert code(info) == "NoSuchKey"


def test_concurrent_clients_see_whole_objects(endpoint: EndpointServer, bucket: str) -> None:
    import threading

    versions = [bytes([i]) * (256 * 1024 + i) for i in range(4)]
    errors: list[str] = []

    def work(n: int) -> None:
        client = s3_client(endpoint.url)
        for i in range(15):
            try:
                if (n + i) % 2:
                    client.put_object(Bucket=bucket, Key="shared", Body=versions[(n + i) % 4])
                else:
                    body = client.get_object(Bucket=bucket, Key="shared")["Body"].read()
                    if body not in versions:
                        errors.append(f"torn read of {len(body)} bytes")
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "NoSuchKey":
                    errors.append(str(exc))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert s3_client(endpoint.url).get_object(Bucket=bucket, Key="shared")["Body"].read() in versions


def test_list_parts_and_uploads(s3: Any, bucket: str) -> None:
    first = s3.create_multipart_upload(Bucket=bucket, Key="logs/a")["UploadId"]
    second = s3.create_multipart_upload(Bucket=bucket, Key="other")["UploadId"]
    for n in (1, 2, 3):
        s3.upload_part(Bucket=bucket, Key="logs/a", UploadId=first, PartNumber=n, Body=b"x" * n)
    parts = s3.list_parts(Bucket=bucket, Key="logs/a", UploadId=first)
    assert [(p["PartNumber"], p["Size"]) for p in parts["Parts"]] == [(1, 1), (2, 2), (3, 3)]
    page = s3.list_parts(Bucket=bucket, Key="logs/a", UploadId=first, MaxParts=2)
    assert page["IsTruncated"] and page["NextPartNumberMarker"] == 2
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("logs/a", first), ("other", second)]
    assert [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket, Prefix="logs/")["Uploads"]] == [
        "logs/a"
    ]
    s3.abort_multipart_upload(Bucket=bucket, Key="other", UploadId=second)
    assert [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == ["logs/a"]
