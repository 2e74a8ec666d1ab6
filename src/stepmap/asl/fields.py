"""The field tables the validator checks a definition against (JSONPath query language).

Which fields each state type accepts, what kind of value each simple field takes, which fields belong to
one query language only, the Choice operators and their operand kinds, and the enumerations of the
Distributed Map sub-documents. Pure data: :mod:`stepmap.asl.validate` holds the logic. Sources are the
field matrix in AWS's ASL documentation (see ``shared/reference/step-functions.md`` §1.2-1.9 and §2).
"""

from __future__ import annotations

from dataclasses import dataclass

from stepmap.errors import STATES_ERRORS

__all__ = [
    "CHOICE_COMBINATORS",
    "CHOICE_OPERATORS",
    "CHOICE_TYPE_TESTS",
    "EXCLUSIVE_PAIRS",
    "ITEM_READER_PARAMETERS",
    "JSONATA_ONLY",
    "JSONPATH_ONLY",
    "KNOWN_STATE_FIELDS",
    "LAMBDA_INVOKE_PARAMETERS",
    "PREDEFINED_ERRORS",
    "READER_CONFIG_FIELDS",
    "STATE_FIELDS",
    "STATE_SPECS",
    "STATE_TYPES",
    "FieldSpec",
]


@dataclass(frozen=True)
class FieldSpec:
    """The kind of value a simple field takes.

    Kinds: ``string``, ``bool``, ``int`` and ``number`` (with inclusive ``low``/``high`` bounds),
    ``enum`` (one of ``choices``), ``path`` (any Path, null allowed), ``refpath`` (a reference path: one
    node, no wildcards or filters), ``resultpath`` (a reference path from ``$``, null allowed),
    ``path_or_intrinsic``, ``timestamp`` (RFC 3339), ``template`` (a payload template object),
    ``any``. Fields with structure of their own (Retry, Choices, ItemReader, ...) have no spec here.
    """

    kind: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()


MAX_SECONDS = 99_999_999  # AWS's upper bound for TimeoutSeconds, HeartbeatSeconds, IntervalSeconds, ...

STATE_TYPES = ("Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")

_COMMON = frozenset({"Type", "Comment", "QueryLanguage"})
_IO = frozenset({"InputPath", "OutputPath"})
_FLOW = frozenset({"Next", "End"})

STATE_FIELDS: dict[str, frozenset[str]] = {
    "Task": _COMMON
    | _IO
    | _FLOW
    | {
        "Resource",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        "Retry",
        "Catch",
        "Credentials",
        "Assign",
        "Arguments",
        "Output",
    },
    "Pass": _COMMON | _IO | _FLOW | {"Parameters", "ResultPath", "Result", "Assign", "Output"},
    "Choice": _COMMON | _IO | {"Choices", "Default", "Assign", "Output"},
    "Wait": _COMMON
    | _IO
    | _FLOW
    | {"Seconds", "Timestamp", "SecondsPath", "TimestampPath", "Assign", "Output"},
    "Succeed": _COMMON | _IO | {"Output"},
    "Fail": _COMMON | {"Error", "Cause", "ErrorPath", "CausePath"},
    # AWS refuses TimeoutSeconds on Parallel although older emulators accepted it.
    "Parallel": _COMMON
    | _IO
    | _FLOW
    | {
        "Branches",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "Retry",
        "Catch",
        "Assign",
        "Arguments",
        "Output",
    },
    "Map": _COMMON
    | _IO
    | _FLOW
    | {
        "ItemProcessor",
        "Iterator",
        "ItemsPath",
        "ItemSelector",
        "Parameters",
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        "Label",
        "ResultSelector",
        "ResultPath",
        "Retry",
        "Catch",
        "Assign",
        "Items",
        "Output",
    },
}

KNOWN_STATE_FIELDS: frozenset[str] = frozenset().union(*STATE_FIELDS.values())

JSONPATH_ONLY = frozenset(
    {
        "InputPath",
        "OutputPath",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "Result",
        "TimeoutSecondsPath",
        "HeartbeatSecondsPath",
        "ItemsPath",
        "MaxConcurrencyPath",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentagePath",
        "ErrorPath",
        "CausePath",
        "SecondsPath",
        "TimestampPath",
        "Variable",
        "MaxItemsPath",
        "MaxItemsPerBatchPath",
        "MaxInputBytesPerBatchPath",
    }
)
JSONATA_ONLY = frozenset({"Arguments", "Output", "Items", "Condition"})

_REF = FieldSpec("refpath")
_POSITIVE_SECONDS = FieldSpec("int", 1, MAX_SECONDS)

# Simple state-level fields; the Map-only ones are checked only when the Map's mode allows them.
STATE_SPECS: dict[str, FieldSpec] = {
    "Comment": FieldSpec("string"),
    "InputPath": FieldSpec("path"),
    "OutputPath": FieldSpec("path"),
    "ResultPath": FieldSpec("resultpath"),
    "Parameters": FieldSpec("template"),
    "ResultSelector": FieldSpec("template"),
    "ItemSelector": FieldSpec("template"),
    "Credentials": FieldSpec("template"),
    "Result": FieldSpec("any"),
    "Next": FieldSpec("string"),
    "Default": FieldSpec("string"),
    "End": FieldSpec("bool"),
    "TimeoutSeconds": _POSITIVE_SECONDS,
    "TimeoutSecondsPath": _REF,
    "HeartbeatSeconds": _POSITIVE_SECONDS,
    "HeartbeatSecondsPath": _REF,
    "Seconds": FieldSpec("int", 0, MAX_SECONDS),
    "SecondsPath": _REF,
    "Timestamp": FieldSpec("timestamp"),
    "TimestampPath": _REF,
    "Error": FieldSpec("string"),
    "Cause": FieldSpec("string"),
    "ErrorPath": FieldSpec("path_or_intrinsic"),
    "CausePath": FieldSpec("path_or_intrinsic"),
    "ItemsPath": _REF,
    "MaxConcurrency": FieldSpec("int", 0, None),
    "MaxConcurrencyPath": _REF,
    "ToleratedFailureCount": FieldSpec("int", 0, None),
    "ToleratedFailureCountPath": _REF,
    "ToleratedFailurePercentage": FieldSpec("number", 0, 100),
    "ToleratedFailurePercentagePath": _REF,
}

# A state (or sub-document) may give a value or a path to it, never both.
EXCLUSIVE_PAIRS: tuple[tuple[str, str], ...] = (
    ("TimeoutSeconds", "TimeoutSecondsPath"),
    ("HeartbeatSeconds", "HeartbeatSecondsPath"),
    ("MaxConcurrency", "MaxConcurrencyPath"),
    ("ToleratedFailureCount", "ToleratedFailureCountPath"),
    ("ToleratedFailurePercentage", "ToleratedFailurePercentagePath"),
    ("Error", "ErrorPath"),
    ("Cause", "CausePath"),
    ("MaxItems", "MaxItemsPath"),
    ("MaxItemsPerBatch", "MaxItemsPerBatchPath"),
    ("MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath"),
)

DISTRIBUTED_ONLY = (
    "ItemReader",
    "ItemBatcher",
    "ResultWriter",
    "Label",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
)

RETRIER_SPECS: dict[str, FieldSpec] = {
    "Comment": FieldSpec("string"),
    "IntervalSeconds": FieldSpec("int", 1, MAX_SECONDS),
    "MaxAttempts": FieldSpec("int", 0, MAX_SECONDS),
    "BackoffRate": FieldSpec("number", 1.0, None),
    "MaxDelaySeconds": FieldSpec("int", 1, 31_622_401),
    "JitterStrategy": FieldSpec("enum", choices=("FULL", "NONE")),
}
RETRIER_FIELDS = frozenset({"ErrorEquals", *RETRIER_SPECS})
CATCHER_FIELDS = frozenset({"ErrorEquals", "Next", "ResultPath", "Comment", "Assign", "Output"})

PREDEFINED_ERRORS = frozenset({"States.ALL", *STATES_ERRORS})

# Choice operators -> the kind of their operand.
CHOICE_TYPE_TESTS = ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp")
_COMPARED = {
    "String": "string",
    "Numeric": "number",
    "Boolean": "bool",
    "Timestamp": "timestamp",
}
_RELATIONS = ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
CHOICE_OPERATORS: dict[str, str] = {"StringMatches": "string"}
for _prefix, _kind in _COMPARED.items():
    for _relation in _RELATIONS if _prefix != "Boolean" else ("Equals",):
        CHOICE_OPERATORS[_prefix + _relation] = _kind
        CHOICE_OPERATORS[_prefix + _relation + "Path"] = "refpath"
CHOICE_OPERATORS.update(dict.fromkeys(CHOICE_TYPE_TESTS, "bool"))
CHOICE_COMBINATORS = ("And", "Or", "Not")
CHOICE_RULE_FIELDS = frozenset(
    {"Variable", "Next", "Comment", "Assign", *CHOICE_OPERATORS, *CHOICE_COMBINATORS}
)
JSONATA_RULE_FIELDS = frozenset({"Condition", "Next", "Comment", "Assign", "Output"})

# Lambda's optimized integration: what Parameters may hold (each also with ".$").
LAMBDA_INVOKE_PARAMETERS = frozenset(
    {"FunctionName", "Payload", "InvocationType", "Qualifier", "ClientContext", "LogType"}
)

LIST_OBJECTS = "arn:aws:states:::s3:listObjectsV2"
GET_OBJECT = "arn:aws:states:::s3:getObject"
PUT_OBJECT = "arn:aws:states:::s3:putObject"

ITEM_READER_FIELDS = frozenset({"Resource", "Parameters", "ReaderConfig", "Arguments"})
ITEM_READER_PARAMETERS: dict[str, frozenset[str]] = {
    LIST_OBJECTS: frozenset({"Bucket", "Prefix"}),
    GET_OBJECT: frozenset({"Bucket", "Key", "VersionId", "ExpectedBucketOwner"}),
}
INPUT_TYPES = ("CSV", "JSON", "JSONL", "MANIFEST", "PARQUET", "TEXT_BLOCKS")  # TEXT_BLOCKS: stepmap's own
READER_CONFIG_SPECS: dict[str, FieldSpec] = {
    "InputType": FieldSpec("enum", choices=INPUT_TYPES),
    "CSVHeaderLocation": FieldSpec("enum", choices=("FIRST_ROW", "GIVEN")),
    "CSVDelimiter": FieldSpec("enum", choices=("COMMA", "PIPE", "SEMICOLON", "SPACE", "TAB")),
    "ManifestType": FieldSpec("enum", choices=("S3_INVENTORY", "ATHENA_DATA")),
    "MaxItems": FieldSpec("int", 1, 100_000_000),
    "MaxItemsPath": _REF,
    "Transformation": FieldSpec("enum", choices=("NONE", "LOAD_AND_FLATTEN")),
    "BlockSizeBytes": FieldSpec("int", 1, None),
}
READER_CONFIG_FIELDS = frozenset({*READER_CONFIG_SPECS, "CSVHeaders", "ItemsPointer"})

MAX_BATCH_BYTES = 262_144
ITEM_BATCHER_SPECS: dict[str, FieldSpec] = {
    "MaxItemsPerBatch": FieldSpec("int", 1, None),
    "MaxItemsPerBatchPath": _REF,
    "MaxInputBytesPerBatch": FieldSpec("int", 1, MAX_BATCH_BYTES),
    "MaxInputBytesPerBatchPath": _REF,
    "BatchInput": FieldSpec("template"),
}

RESULT_WRITER_FIELDS = frozenset({"Resource", "Parameters", "WriterConfig", "Arguments"})
RESULT_WRITER_PARAMETERS = frozenset({"Bucket", "Prefix"})
WRITER_CONFIG_SPECS: dict[str, FieldSpec] = {
    "OutputType": FieldSpec("enum", choices=("JSON", "JSONL")),
    "Transformation": FieldSpec("enum", choices=("NONE", "COMPACT", "FLATTEN")),
}

PROCESSOR_CONFIG_SPECS: dict[str, FieldSpec] = {
    "Mode": FieldSpec("enum", choices=("INLINE", "DISTRIBUTED")),
    "ExecutionType": FieldSpec("enum", choices=("STANDARD", "EXPRESS")),
}

TOP_LEVEL_FIELDS = frozenset({"StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"})
BRANCH_FIELDS = frozenset({"StartAt", "States", "Comment"})
PROCESSOR_FIELDS = frozenset({"StartAt", "States", "Comment", "ProcessorConfig"})
