"""EventBridge pattern matching, case by case from EventBridge's documentation of content filtering."""

from __future__ import annotations

from typing import Any

import pytest

from stepmap.events.patterns import check_pattern, matches, pattern_problems

EVENT: dict[str, Any] = {
    "version": "0",
    "id": "1",
    "detail-type": "Object Created",
    "source": "aws.s3",
    "account": "123456789012",
    "region": "us-east-1",
    "resources": ["arn:aws:s3:::inbox"],
    "detail": {
        "bucket": {"name": "inbox"},
        "object": {"key": "uploads/2024/report.CSV", "size": 1500, "etag": "abc"},
        "reason": "PutObject",
        "tags": ["a", "b"],
        "flag": None,
        "ok": True,
    },
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"source": ["aws.s3"]}, True),
        ({"source": ["aws.ec2", "aws.s3"]}, True),
        ({"source": ["aws.ec2"]}, False),
        ({"detail": {"bucket": {"name": ["inbox"]}}}, True),
        ({"detail": {"object": {"size": [1500.0]}}}, True),  # numbers compare as numbers
        ({"detail": {"object": {"size": ["1500"]}}}, False),  # a string is not a number
        ({"detail": {"flag": [None]}}, True),
        ({"detail": {"ok": [True]}}, True),
        ({"detail": {"tags": ["b"]}}, True),  # an array value matches when one element does
        ({"detail": {"object": {"key": [{"prefix": "uploads/"}]}}}, True),
        ({"detail": {"object": {"key": [{"prefix": "downloads/"}]}}}, False),
        ({"detail": {"object": {"key": [{"suffix": ".CSV"}]}}}, True),
        ({"detail": {"object": {"key": [{"suffix": {"equals-ignore-case": ".csv"}}]}}}, True),
        ({"detail": {"object": {"key": [{"prefix": {"equals-ignore-case": "UPLOADS/"}}]}}}, True),
        ({"detail": {"reason": [{"equals-ignore-case": "putobject"}]}}, True),
        ({"detail": {"reason": [{"anything-but": "CopyObject"}]}}, True),
        ({"detail": {"reason": [{"anything-but": ["PutObject", "CopyObject"]}]}}, False),
        ({"detail": {"object": {"key": [{"anything-but": {"prefix": "tmp/"}}]}}}, True),
        ({"detail": {"object": {"key": [{"anything-but": {"suffix": ".CSV"}}]}}}, False),
        (
            {"detail": {"missing": [{"anything-but": "x"}]}},
            False,
        ),  # only exists:false matches a missing field
        ({"detail": {"object": {"size": [{"numeric": [">", 1000, "<=", 1500]}]}}}, True),
        ({"detail": {"object": {"size": [{"numeric": ["<", 1000]}]}}}, False),
        ({"detail": {"object": {"size": [{"numeric": ["=", 1500]}]}}}, True),
        ({"detail": {"object": {"key": [{"numeric": [">", 0]}]}}}, False),
        ({"detail": {"object": {"etag": [{"exists": True}]}}}, True),
        ({"detail": {"object": {"versionId": [{"exists": False}]}}}, True),
        ({"detail": {"object": {"etag": [{"exists": False}]}}}, False),
        ({"detail": {"nothing": {"deeper": [{"exists": False}]}}}, True),
        ({"detail": {"object": {"key": [{"wildcard": "uploads/*/report.*"}]}}}, True),
        ({"detail": {"object": {"key": [{"wildcard": "uploads/*.txt"}]}}}, False),
        ({"detail": {"object": {"key": [{"wildcard": "uploads\\*"}]}}}, False),  # \* is a literal star
        ({"source": ["aws.s3"], "detail-type": ["Object Deleted"]}, False),  # every field must match
        ({"$or": [{"source": ["aws.ec2"]}, {"detail": {"reason": ["PutObject"]}}]}, True),
        ({"$or": [{"source": ["aws.ec2"]}, {"detail": {"reason": ["Copy"]}}]}, False),
        (
            {"source": ["aws.s3"], "$or": [{"detail-type": ["x"]}, {"resources": ["arn:aws:s3:::inbox"]}]},
            True,
        ),
    ],
)
def test_matching(pattern: dict[str, Any], expected: bool) -> None:
    check_pattern(pattern)
    assert matches(pattern, EVENT) is expected


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ([], "a pattern is a JSON object"),
        ({}, "the pattern is empty"),
        ({"source": "aws.s3"}, "/source: a leaf is a non-empty array"),
        ({"source": []}, "/source: a leaf is a non-empty array"),
        ({"detail": {"size": [{"numeric": [">", "1"]}]}}, "/detail/size/0: numeric operators"),
        ({"detail": {"size": [{"numeric": ["<", 5, ">", 1]}]}}, "a numeric range"),
        ({"source": [{"prefix": 1}]}, "/source/0: prefix takes a string"),
        ({"source": [{"exists": "yes"}]}, "exists takes true or false"),
        ({"source": [{"regex": "x"}]}, "unknown operator 'regex'"),
        ({"source": [{"prefix": "a", "suffix": "b"}]}, "one operator"),
        ({"ip": [{"cidr": "10.0.0.0/24"}]}, "cidr matching is not supported"),
        ({"$or": [{"source": ["a"]}]}, "at least two patterns"),
        ({"source": [{"wildcard": "a**b"}]}, "consecutive"),
        ({"source": [{"anything-but": {"regex": "x"}}]}, "anything-but takes"),
    ],
)
def test_bad_patterns_are_refused_with_their_place(pattern: Any, problem: str) -> None:
    problems = pattern_problems(pattern)
    assert any(problem in p for p in problems), problems
    with pytest.raises(ValueError):
        check_pattern(pattern)
