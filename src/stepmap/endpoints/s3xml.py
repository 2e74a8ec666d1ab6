"""The XML of the S3 REST API: building response documents, parsing request documents safely.

Element names and order follow botocore's S3 service model (``ListBucketResult``, ``DeleteResult``,
``CompleteMultipartUploadResult``, ...); botocore parses by name, so order matters only to humans.
Request bodies are parsed with the standard library's expat after refusing any DTD (S3 accepts none),
which rules out entity expansion attacks; documents are bounded by the caller (:data:`MAX_XML_BODY`).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from stepmap.endpoints.protocol import RestError

__all__ = ["MAX_XML_BODY", "NS", "document", "iso", "parse", "text"]

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_XML_BODY = 4 * 1024 * 1024  # 10000 parts of CompleteMultipartUpload fit in well under 2 MiB
_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def text(value: Any) -> str:
    """Escape text for an element; characters XML 1.0 cannot carry become character references
    (clients that care ask for ``encoding-type=url`` instead)."""
    escaped = escape(str(value))
    return _INVALID_XML_CHARS.sub(lambda m: f"&#x{ord(m.group()):x};", escaped)


def iso(moment: datetime) -> str:
    """S3's timestamp in XML: ``2024-01-31T12:00:00.000Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def element(name: str, value: Any) -> str:
    return f"<{name}>{text(value)}</{name}>"


def document(root: str, parts: Iterable[str]) -> bytes:
    """``<?xml ...?><root xmlns="...">parts</root>`` as UTF-8 bytes."""
    body = "".join(parts)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{NS}">{body}</{root}>'.encode()


def parse(body: bytes, root: str) -> ET.Element:
    """Parse a request document whose root element is ``root`` (namespace optional), or MalformedXML."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise RestError("MalformedXML", "The XML you provided was not well-formed or did not validate.")
    try:
        tree = ET.fromstring(body)
    except ET.ParseError:
        raise RestError(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema.",
        ) from None
    _strip_namespaces(tree)
    if tree.tag != root:
        raise RestError("MalformedXML", f"The XML you provided was not {root} (found {tree.tag}).")
    return tree


def _strip_namespaces(tree: ET.Element) -> None:
    for node in tree.iter():
        if node.tag.startswith("{"):
            node.tag = node.tag.split("}", 1)[1]
