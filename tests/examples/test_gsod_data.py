"""The GSOD example's data side: generator fidelity to NOAA's format, determinism, the handlers' pure
functions on real files, the tie rules, and the handlers + reducer against the reference."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from examples.gsod import generate as gen
from examples.gsod.handlers import (
    Winner,
    merge_monthly,
    monthly_max_for_batch,
    monthly_max_from_csv,
    reduce_result_files,
    winner_key,
)
from examples.gsod.reference import iter_directory, monthly_max_reference
from examples.gsod.stations import station

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gsod"
SAMPLES = EXAMPLE / "samples"  # three real station-years of 2013 in NOAA's exact format (CC0)
EWR, LGA, JFK = "72502014734", "72503014732", "74486094789"

QUOTED_ROW = re.compile(r'^"[^"]*"(?:,"[^"]*"){27}$')
# Text width inside the quotes of every fixed-width column (all columns but LATITUDE..NAME).
WIDTHS = {
    "STATION": 11, "DATE": 10, "TEMP": 6, "TEMP_ATTRIBUTES": 2, "DEWP": 6, "DEWP_ATTRIBUTES": 2,
    "SLP": 6, "SLP_ATTRIBUTES": 2, "STP": 5, "STP_ATTRIBUTES": 2, "VISIB": 5, "VISIB_ATTRIBUTES": 2,
    "WDSP": 5, "WDSP_ATTRIBUTES": 2, "MXSPD": 5, "GUST": 5, "MAX": 6, "MAX_ATTRIBUTES": 1, "MIN": 6,
    "MIN_ATTRIBUTES": 1, "PRCP": 5, "PRCP_ATTRIBUTES": 1, "SNDP": 5, "FRSHTT": 6,
}  # fmt: skip
# Missing marker of a measured column and the count column that must then read " 0".
SENTINELS = {
    "TEMP": ("9999.9", "TEMP_ATTRIBUTES"), "DEWP": ("9999.9", "DEWP_ATTRIBUTES"),
    "SLP": ("9999.9", "SLP_ATTRIBUTES"), "STP": ("999.9", "STP_ATTRIBUTES"),
    "VISIB": ("999.9", "VISIB_ATTRIBUTES"), "WDSP": ("999.9", "WDSP_ATTRIBUTES"),
}  # fmt: skip


def real_files() -> dict[str, bytes]:
    return {key: data for key, data in iter_directory(SAMPLES)}


@pytest.fixture(scope="module")
def generated() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    summary = gen.generate(files.__setitem__, files=120, seed=7)
    # Speed is reported, not asserted (shared CI machines vary too much).
    mb_s = summary.bytes / summary.seconds / 1e6
    print(f"\ngenerator: {summary.files_per_second:.0f} files/s, {mb_s:.1f} MB/s")
    assert summary.files == len(files) == 120
    return files


def rows_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("ascii"))))


# ---------------------------------------------------------------------------------------------------
# Format fidelity against the real samples


def test_samples_are_present() -> None:
    assert sorted(real_files()) == [f"2013/{s}.csv" for s in (EWR, LGA, JFK)]


def test_header_is_byte_for_byte_noaas(generated: dict[str, bytes]) -> None:
    for data in [*real_files().values(), *generated.values()]:
        assert data.split(b"\n", 1)[0] + b"\n" == gen.HEADER.encode()


@pytest.mark.parametrize("source", ["real", "generated"])
def test_lexical_structure(source: str, generated: dict[str, bytes]) -> None:
    files = real_files() if source == "real" else generated
    for key, data in files.items():
        assert b"\r" not in data and data.endswith(b"\n"), key
        lines = data.decode("ascii").split("\n")[:-1]
        rows = rows_of(data)
        header = rows[0]
        assert len(header) == 28
        for line, row in zip(lines[1:], rows[1:], strict=True):
            assert QUOTED_ROW.match(line), line  # QUOTE_ALL, 28 fields
            rec = dict(zip(header, row, strict=True))
            for column, width in WIDTHS.items():
                assert len(rec[column]) == width, (key, column, rec[column])
            # NOAA's row length: 191 bytes plus the four variable station fields, newline included.
            assert len(line) + 1 == 191 + sum(
                len(rec[c]) for c in ("LATITUDE", "LONGITUDE", "ELEVATION", "NAME")
            )
            assert "," in rec["NAME"]
            assert key == f"{rec['DATE'][:4]}/{rec['STATION']}.csv"


def test_generated_columns_have_the_real_widths(generated: dict[str, bytes]) -> None:
    def widths(files: dict[str, bytes]) -> dict[str, set[int]]:
        out: dict[str, set[int]] = {}
        for data in files.values():
            rows = rows_of(data)
            for row in rows[1:]:
                for column, value in zip(rows[0], row, strict=True):
                    out.setdefault(column, set()).add(len(value))
        return out

    real, ours = widths(real_files()), widths(generated)
    for column in WIDTHS:
        assert ours[column] == real[column], column


def test_generated_values_are_consistent(generated: dict[str, bytes]) -> None:
    seen: Counter[str] = Counter()
    for key, data in generated.items():
        rows = rows_of(data)
        header, body = rows[0], rows[1:]
        dates = [r[1] for r in body]
        assert dates == sorted(set(dates)), key  # sorted, no duplicate day
        year = int(key[:4])
        assert all(d.startswith(f"{year}-") for d in dates)
        for row in body:
            rec = dict(zip(header, row, strict=True))
            for column, (marker, count) in SENTINELS.items():
                if rec[count] == " 0":
                    assert rec[column] == marker, (key, column)
                    seen[f"{column} missing"] += 1
                elif rec[column] == marker:
                    # Only STP's marker 999.9 is also a possible reading; its count tells them apart.
                    assert column == "STP", (key, column)
            if rec["PRCP"] == "99.99":
                assert rec["PRCP_ATTRIBUTES"] == " "
                seen["PRCP missing"] += 1
            assert rec["MAX_ATTRIBUTES"] in (" ", "*") and rec["MAX_ATTRIBUTES"] == rec["MIN_ATTRIBUTES"]
            assert re.fullmatch(r"[01]{6}", rec["FRSHTT"])
            if rec["TEMP"] != "9999.9":
                temp = float(rec["TEMP"])
                assert float(rec["MIN"]) <= temp <= float(rec["MAX"])
                if rec["DEWP"] != "9999.9":
                    assert float(rec["DEWP"]) <= temp
                assert 4 <= int(rec["TEMP_ATTRIBUTES"]) <= 24
            if rec["STP"] != "999.9" and rec["STP"].startswith("0"):
                seen["STP lost its leading 1"] += 1  # 1013.2 is written "013.2", as NOAA does
            if rec["GUST"] == "999.9":
                seen["GUST missing"] += 1
    for what in ("SLP missing", "STP missing", "VISIB missing", "GUST missing", "PRCP missing",
                 "STP lost its leading 1"):  # fmt: skip
        assert seen[what] > 0, what


def test_file_sizes_and_gaps_look_like_the_archive(generated: dict[str, bytes]) -> None:
    sizes = [len(d) for d in generated.values()]
    mean = sum(sizes) / len(sizes)
    assert 50_000 < mean < 85_000  # the archive's mean is 66.5 KB
    assert max(sizes) < 101_000
    rows = [d.count(b"\n") - 1 for d in generated.values()]
    assert min(rows) >= 1
    assert sum(r < 300 for r in rows) > 0.15 * len(rows)  # partial years and gappy stations
    assert sum(r >= 360 for r in rows) > 0.15 * len(rows)  # and complete ones


# ---------------------------------------------------------------------------------------------------
# Keys, stations, determinism


def test_keys_years_and_counts(generated: dict[str, bytes]) -> None:
    assert all(re.fullmatch(r"\d{4}/[0-9A-Z]{11}\.csv", k) for k in generated)
    per_year = Counter(int(k[:4]) for k in generated)
    expected = gen.files_per_year(120, range(gen.FIRST_YEAR, gen.LAST_YEAR + 1))
    assert all(per_year[y] == expected[y] for y in range(gen.FIRST_YEAR, gen.LAST_YEAR + 1))
    # At full scale the curve gives the archive's shape: 21 files in 1929, the 1973 jump, ~558k by 2022.
    full = gen.files_per_year(584_063, range(gen.FIRST_YEAR, gen.LAST_YEAR + 1))
    assert sum(full[y] for y in range(gen.FIRST_YEAR, gen.LAST_YEAR + 1)) == 584_063
    assert full[1929] == 21 and full[1973] > 1.3 * full[1972] and 9_000 < full[2020] < 10_500
    assert 550_000 < sum(full[y] for y in range(gen.FIRST_YEAR, 2023)) < 566_000


def test_files_and_years_are_honoured_exactly() -> None:
    keys = [k for k, _ in gen.iter_files(files=17, seed=3, years=[2013, 2014])]
    assert len(keys) == len(set(keys)) == 17
    assert {k[:4] for k in keys} == {"2013", "2014"}
    assert [k for k, _ in gen.iter_files(files=0, seed=3)] == []
    with pytest.raises(ValueError, match="outside"):
        list(gen.iter_files(files=5, years=[1900]))


def test_2025_ends_in_august() -> None:
    for _key, data in gen.iter_files(files=40, seed=5, years=[2025]):
        last_date = data.rstrip(b"\n").rsplit(b"\n", 1)[1].split(b'","')[1].decode()
        assert last_date <= "2025-08-27"


def test_leap_years_have_february_29() -> None:
    leap = [data for _key, data in gen.iter_files(files=20, seed=6, years=[2016])]
    assert sum(b'"2016-02-29"' in d for d in leap) >= 10
    assert max(d.count(b"\n") - 1 for d in leap) == 366


def test_streams_without_listing_everything() -> None:
    # A million-file run yields its first file at once: nothing is planned per file up front.
    key, data = next(iter(gen.iter_files(files=1_000_000, seed=1)))
    assert key.startswith("19") and data.startswith(gen.HEADER.encode())


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    def digest(seed: int) -> str:
        h = hashlib.sha256()
        for key, data in gen.iter_files(files=40, seed=seed):
            h.update(key.encode() + b"\0" + data)
        return h.hexdigest()

    assert digest(11) == digest(11)
    assert digest(11) != digest(12)


def test_station_ids_are_unique_and_catalogue_like() -> None:
    stations = [station(0, n) for n in itertools.chain(range(2_000), range(10_000, 11_000), [250_001])]
    ids = [s.id for s in stations]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9A][0-9]{10}", i) for i in ids)
    no_wban = sum(i.endswith("99999") for i in ids[:2_000]) / 2_000
    assert 0.75 < no_wban < 0.9  # isd-history: 83% of stations have no WBAN
    assert any(i.startswith("A") for i in ids)  # letter-prefixed USAF ids exist, and sort last
    us = [s for s in stations if s.name.endswith(" US")]
    assert 0.18 < len(us) / len(stations) < 0.32
    assert all(re.search(r", [A-Z]{2} US$", s.name) for s in us)
    assert all(len(s.name) <= 60 and s.name == s.name.upper() and s.name.isascii() for s in stations)
    assert station(0, 42) == station(0, 42) != station(1, 42)


def test_cli_writes_the_same_files_as_the_api(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gen.main(["--out", str(tmp_path), "--files", "12", "--seed", "4", "--years", "2000-2002"]) == 0
    written = dict(iter_directory(tmp_path))
    assert written == dict(gen.iter_files(files=12, seed=4, years=range(2000, 2003)))
    assert "wrote 12 files" in capsys.readouterr().err
    sharded = tmp_path / "sharded"
    assert (
        gen.main(
            ["--out", str(sharded), "--files", "12", "--seed", "4", "--years", "2000-2002", "--jobs", "2"]
        )
        == 0
    )
    assert dict(iter_directory(sharded)) == written


def test_cli_rejects_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["--files", "-1"], ["--files", "3", "--years", "1900"], ["--files", "3", "--jobs", "0"]):
        with pytest.raises(SystemExit) as exc:
            gen.main(["--out", str(tmp_path), *args])
        assert exc.value.code == 2
    assert "outside 1929-2025" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


# ---------------------------------------------------------------------------------------------------
# The handlers' pure functions


def test_monthly_max_on_real_files_hand_checked() -> None:
    files = real_files()
    # Checked by hand (grep '"2013-07-' | sort on TEMP): July 2013's warmest days.
    jul = {s: monthly_max_from_csv(files[f"2013/{s}.csv"])["2013-07"] for s in (EWR, LGA, JFK)}
    assert (jul[EWR]["temp"], jul[EWR]["date"]) == (91.2, "2013-07-19")
    assert (jul[LGA]["temp"], jul[LGA]["date"]) == (92.6, "2013-07-19")
    assert (jul[JFK]["temp"], jul[JFK]["date"]) == (87.0, "2013-07-17")
    assert jul[LGA]["name"] == "LA GUARDIA AIRPORT, NY US" and jul[LGA]["station"] == LGA

    merged = merge_monthly(monthly_max_from_csv(d) for d in files.values())
    assert len(merged) == 12
    assert merged["2013-07"] == {"station": LGA, "date": "2013-07-19", "temp": 92.6, "name": jul[LGA]["name"]}
    assert merged["2013-01"]["station"] == EWR and merged["2013-01"]["temp"] == 51.5


def test_real_tie_goes_to_the_lowest_station() -> None:
    files = real_files()
    # LGA and JFK both peaked at 50.7 F on 2013-01-14: the lower STATION (LGA) wins, in either order.
    lga, jfk = (monthly_max_from_csv(files[f"2013/{s}.csv"]) for s in (LGA, JFK))
    assert lga["2013-01"]["temp"] == jfk["2013-01"]["temp"] == 50.7
    assert merge_monthly([lga, jfk])["2013-01"]["station"] == LGA
    assert merge_monthly([jfk, lga])["2013-01"]["station"] == LGA


def _w(station: str, date: str, temp: float) -> Winner:
    return {"station": station, "date": date, "temp": temp, "name": f"N{station}, XX"}


def test_tie_rules_and_order_independence() -> None:
    hotter = _w("99999999999", "2013-05-30", 80.1)
    low_station_late = _w("01000099999", "2013-05-20", 80.0)
    low_station_early = _w("01000099999", "2013-05-02", 80.0)
    high_station_earliest = _w("72000099999", "2013-05-01", 80.0)
    cands = [hotter, low_station_late, low_station_early, high_station_earliest]
    for perm in itertools.permutations(cands):
        assert merge_monthly([{"2013-05": c} for c in perm]) == {"2013-05": hotter}
    for perm in itertools.permutations(cands[1:]):
        assert merge_monthly([{"2013-05": c} for c in perm]) == {"2013-05": low_station_early}
    assert winner_key(hotter) < winner_key(low_station_early) < winner_key(low_station_late)


winners = st.builds(
    _w,
    st.sampled_from(["01001099999", "72503014732", "74486094789", "A5125600451"]),
    st.sampled_from(["2013-07-01", "2013-07-02", "2013-07-31"]),
    st.sampled_from([-10.0, 80.0, 80.1, 99.99]),
)


@given(st.lists(winners, min_size=1, max_size=12), st.randoms(use_true_random=False))
def test_merging_in_any_grouping_gives_the_global_best(cands: list[Winner], rnd: Any) -> None:
    # What the children and the reducer do: merge per batch, then merge the batches' answers.
    rnd.shuffle(cands)
    cut = sorted(rnd.sample(range(len(cands) + 1), 2))
    batches = [cands[: cut[0]], cands[cut[0] : cut[1]], cands[cut[1] :]]
    partials = [merge_monthly([{"2013-07": c} for c in batch]) for batch in batches]
    assert merge_monthly(partials) == {"2013-07": min(cands, key=winner_key)}


def _csv(*rows: tuple[str, str, str]) -> bytes:
    """A GSOD file with the given (station, date, TEMP text) rows and plausible other fields."""
    out = [gen.HEADER]
    for sid, date, temp in rows:
        fields = [sid, date, "1.0", "2.0", "3.0", "SOMEWHERE, XX", temp, "24", "  10.0", "24", "1012.0", "24",
                  "999.9", " 0", " 10.0", "24", "  5.0", "24", "  9.9", "999.9", "  90.0", " ", "   1.0", " ",
                  " 0.00", "G", "999.9", "000000"]  # fmt: skip
        out.append(",".join(f'"{f}"' for f in fields) + "\n")
    return "".join(out).encode()


def test_missing_temp_never_wins_and_99_99_is_a_temperature() -> None:
    data = _csv(
        ("01001099999", "2013-07-01", "9999.9"),
        ("01001099999", "2013-07-02", "  99.99"[1:]),  # 99.99 is PRCP's marker, a valid TEMP
        ("01001099999", "2013-07-03", "  80.0"),
        ("01001099999", "2013-08-01", "9999.9"),
        ("01001099999", "2013-09-01", "  80.0"),
        ("01001099999", "2013-09-02", "  80.0"),  # same temperature later: the earliest date stays
    )
    got = monthly_max_from_csv(data)
    assert sorted(got) == ["2013-07", "2013-09"]  # August had only a missing TEMP
    assert got["2013-07"]["temp"] == 99.99 and got["2013-07"]["date"] == "2013-07-02"
    assert got["2013-09"]["date"] == "2013-09-01"


def test_name_with_escaped_quote_and_comma_parses() -> None:
    data = _csv(("01001099999", "2013-07-01", "  70.0")).replace(b'"SOMEWHERE, XX"', b'"O""NEILL, XX"')
    assert monthly_max_from_csv(data)["2013-07"]["name"] == 'O"NEILL, XX'


def test_unquoted_csv_parses_like_noaas() -> None:
    real = real_files()[f"2013/{EWR}.csv"]
    unquoted = io.StringIO()
    csv.writer(unquoted, lineterminator="\r\n").writerows(rows_of(real))
    assert monthly_max_from_csv(unquoted.getvalue().encode()) == monthly_max_from_csv(real)


def test_malformed_files_are_reported_with_their_line() -> None:
    good = _csv(("01001099999", "2013-07-01", "  70.0"))
    with pytest.raises(ValueError, match="line 2: expected 28 columns"):
        monthly_max_from_csv(good.replace(b',"000000"', b""))
    with pytest.raises(ValueError, match="line 2: TEMP"):
        monthly_max_from_csv(good.replace(b'"  70.0"', b'"  hot!"'))
    with pytest.raises(ValueError, match="not a GSOD header"):
        monthly_max_from_csv(b'"A","B"\n')
    with pytest.raises(ValueError, match=r"s3://b/2013/01001099999\.csv: line 2"):
        bad = {"2013/01001099999.csv": good.replace(b'"  70.0"', b'"  hot!"')}
        monthly_max_for_batch({"BatchInput": {"Bucket": "b"}, "Items": [{"Key": k} for k in bad]},
                              lambda b, k: bad[k])  # fmt: skip


def test_batch_skips_keys_that_are_not_station_years() -> None:
    files = real_files()
    store = {**files, "results/abc/manifest.json": b"{}", "index.html": b"<html>"}
    event = {
        "BatchInput": {"Bucket": "gsod"},
        "Items": [{"Key": k, "Size": len(v)} for k, v in store.items()],
    }
    got = monthly_max_for_batch(event, lambda bucket, key: store[key] if bucket == "gsod" else b"")
    assert got == merge_monthly(monthly_max_from_csv(d) for d in files.values())


# ---------------------------------------------------------------------------------------------------
# Handlers + ResultWriter files + reducer == reference


def _result_writer(outputs: list[dict[str, Any]], bucket: str, store: dict[str, bytes]) -> dict[str, Any]:
    """Lay out child outputs as AWS's ResultWriter does (two SUCCEEDED files, one JSON Lines, and a FAILED
    file the reducer must ignore) and return the Map state's output."""
    prefix = "results/0b5f1e3c-run"

    def record(i: int, out: dict[str, Any]) -> dict[str, Any]:
        arn = f"arn:aws:states:us-east-1:123456789012:execution:m/FindMonthlyMax:{i}"
        meta = {"Input": "{}", "InputDetails": {"Included": True}, "OutputDetails": {"Included": True}}
        return {"ExecutionArn": arn, "Name": str(i), "Output": json.dumps(out), "Status": "SUCCEEDED", **meta}

    half = len(outputs) // 2
    store[f"{prefix}/SUCCEEDED_0.json"] = json.dumps(
        [record(i, o) for i, o in enumerate(outputs[:half])]
    ).encode()
    store[f"{prefix}/SUCCEEDED_1.json"] = "\n".join(
        json.dumps(record(half + i, o)) for i, o in enumerate(outputs[half:])
    ).encode()
    bogus = {"2013-07": _w("00000000000", "2013-07-01", 200.0)}
    store[f"{prefix}/FAILED_0.json"] = json.dumps(
        [{"Status": "FAILED", "Error": "X", "Input": json.dumps(bogus)}]
    ).encode()
    manifest = {
        "DestinationBucket": bucket,
        "MapRunArn": "arn:aws:states:us-east-1:123456789012:mapRun:m/FindMonthlyMax:0b5f1e3c-run",
        "ResultFiles": {
            "FAILED": [{"Key": f"{prefix}/FAILED_0.json", "Size": 1}],
            "PENDING": [],
            "SUCCEEDED": [{"Key": f"{prefix}/SUCCEEDED_{n}.json", "Size": 1} for n in (0, 1)],
        },
    }
    store[f"{prefix}/manifest.json"] = json.dumps(manifest).encode()
    return {
        "MapRunArn": manifest["MapRunArn"],
        "ResultWriterDetails": {"Bucket": bucket, "Key": f"{prefix}/manifest.json"},
    }


def test_handlers_and_reducer_agree_with_the_reference_key_by_key() -> None:
    files = dict(gen.iter_files(files=200, seed=21, years=range(2010, 2016)))
    files.update(real_files())  # 2013 now has real rivals, with a real tie in January
    store = dict(files)
    bucket = "gsod"

    def get(b: str, key: str) -> bytes:
        assert b == bucket
        return store[key]

    keys = sorted(store)  # listObjectsV2 order
    outputs = [
        monthly_max_for_batch(
            {"BatchInput": {"Bucket": bucket}, "Items": [{"Key": k} for k in keys[i : i + 37]]}, get
        )
        for i in range(0, len(keys), 37)
    ]
    # Outputs travel as JSON strings; what comes back must compare exactly (floats included).
    map_output = _result_writer(outputs, bucket, store)
    table: list[dict[str, Any]] = []
    rows = reduce_result_files(map_output, get, table.append)

    expected = monthly_max_reference(files.items())
    assert len(expected) == 6 * 12
    assert [r["month"] for r in rows] == list(expected)
    assert {r["month"]: {k: v for k, v in r.items() if k != "month"} for r in rows} == expected
    assert table == rows
    assert expected["2013-07"]["temp"] >= 92.6  # the real LGA day is a candidate


def test_reference_reads_a_directory(tmp_path: Path) -> None:
    gen.generate(gen.directory_sink(str(tmp_path)), files=10, seed=2, years=[2001])
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "manifest.json").write_text("{}")
    from_dir = monthly_max_reference(tmp_path)
    assert from_dir == monthly_max_reference(gen.iter_files(files=10, seed=2, years=[2001]))
    assert sorted(from_dir) == [f"2001-{m:02d}" for m in range(1, 13)]


def test_workflow_has_the_aws_demo_shape() -> None:
    wf = json.loads((EXAMPLE / "workflow.asl.json").read_text())
    dmap = wf["States"][wf["StartAt"]]
    assert dmap["Type"] == "Map"
    assert dmap["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket.$": "$.bucket", "Prefix.$": "$.prefix"},
    }
    assert dmap["ItemBatcher"] == {"MaxItemsPerBatch": 500, "BatchInput": {"Bucket.$": "$.bucket"}}
    proc = dmap["ItemProcessor"]
    assert proc["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    task = proc["States"][proc["StartAt"]]
    assert task["Resource"] == "arn:aws:states:::lambda:invoke"
    assert task["Parameters"]["FunctionName"] == "find_monthly_max" and task["OutputPath"] == "$.Payload"
    assert "Lambda.TooManyRequestsException" in task["Retry"][0]["ErrorEquals"]
    assert dmap["ResultWriter"]["Parameters"] == {"Bucket.$": "$.bucket", "Prefix": "results"}
    assert dmap["ToleratedFailurePercentage"] == 5
    reducer = wf["States"][dmap["Next"]]
    assert reducer["Parameters"]["FunctionName"] == "reduce_results" and reducer["End"] is True


def test_workflow_end_to_end_agrees_with_the_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stepmap
    from stepmap.storage.handles import clear_cache, objects, table

    monkeypatch.setenv("STEPMAP_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("STEPMAP_STORE", raising=False)
    monkeypatch.delenv("STEPMAP_TABLES", raising=False)
    clear_cache()
    try:
        store = objects()
        store.create_bucket("gsod")
        files = dict(gen.iter_files(files=60, seed=8, years=range(2012, 2015)))
        files.update(real_files())
        for key, data in files.items():
            store.put("gsod", key, data)
        handlers = {f: f"examples.gsod.handlers:{f}" for f in ("find_monthly_max", "reduce_results")}
        execution = stepmap.run(
            EXAMPLE / "workflow.asl.json",
            {"bucket": "gsod", "prefix": ""},
            functions=handlers,
            executor="sync",
        )
        assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
        expected = monthly_max_reference(files.items())
        assert {
            r["month"]: {k: v for k, v in r.items() if k != "month"} for r in execution.output
        } == expected
        rows = {item["month"]: item for item in table("gsod_monthly_max", partition_key="month").scan()}
        assert sorted(rows) == list(expected)
        assert rows["2013-07"]["temp"] == expected["2013-07"]["temp"]
    finally:
        clear_cache()
