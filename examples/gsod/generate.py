"""Generate realistic NOAA GSOD station-year CSVs, deterministically from a seed.

The output mimics ``s3://noaa-gsod-pds``: one object per station and year, keyed ``YYYY/<STATION>.csv``,
in NOAA's exact CSV format (28 double-quoted columns, fixed text widths, per-column missing markers,
attribute counts, flags, FRSHTT, the STP "lost leading 1" quirk, a NAME that always contains a comma).
Files per year follow the real station curve (21 files in 1929, a jump in 1973, about 12k a year from the
2010s) scaled to the requested total; stations live for spans of years, so first and last years are
partial, and days go missing in gaps.

How it stays fast and small (pure Python, no numpy):

* Nothing is kept per station. A station is a pure function of ``(seed, station number)`` and is rebuilt
  for each of its files, so memory does not grow with the number of files.
* Every row of one file has the same length (all value fields have fixed widths and the station fields
  repeat), so a row is one f-string over pre-rendered pieces: tables of formatted temperatures,
  pressures, wind/visibility groups and precipitation/FRSHTT tails, built once per process.
* All per-day randomness of a file comes from one ``randbytes`` call; a byte indexes a 256-level table
  (normal quantiles for the temperature anomaly, dew-point depressions, pressure deviations, ...).

Use :func:`generate` with any ``put(key, data)`` sink, :func:`iter_files` to stream ``(key, bytes)``
pairs, or the CLI ``python -m examples.gsod.generate --out DIR --files N --seed S``.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from statistics import NormalDist

from .stations import EARLY_COUNTS, Station, mix_seed, station

__all__ = [
    "FIRST_YEAR",
    "HEADER",
    "LAST_YEAR",
    "GenerateSummary",
    "directory_sink",
    "files_per_year",
    "generate",
    "iter_files",
    "main",
]

HEADER = (
    '"STATION","DATE","LATITUDE","LONGITUDE","ELEVATION","NAME","TEMP","TEMP_ATTRIBUTES","DEWP",'
    '"DEWP_ATTRIBUTES","SLP","SLP_ATTRIBUTES","STP","STP_ATTRIBUTES","VISIB","VISIB_ATTRIBUTES","WDSP",'
    '"WDSP_ATTRIBUTES","MXSPD","GUST","MAX","MAX_ATTRIBUTES","MIN","MIN_ATTRIBUTES","PRCP","PRCP_ATTRIBUTES",'
    '"SNDP","FRSHTT"\n'
)
FIRST_YEAR = 1929
LAST_YEAR = 2025
# Updates stopped at the end of August 2025 (isd-history's latest END is 2025-08-27).
LAST_DAY = date(2025, 8, 27)

# Active stations per year from isd-history (an upper bound on files; real files/active ~ 0.76).
_ACTIVE = {
    1929: 21 / 0.76,  # the real count of 1929 files, not the active count
    1935: 612,
    1940: 1116,
    1945: 2175,
    1950: 3607,
    1960: 6703,
    1970: 7052,
    1972: 7027,
    1973: 9723,
    1980: 10552,
    1990: 11586,
    2000: 10143,
    2010: 12429,
    2020: 12836,
    2024: 12061,
    2025: 11483,
}

PHI = 0.7  # AR(1) coefficient of the daily temperature anomaly


@dataclass(frozen=True)
class GenerateSummary:
    """What :func:`generate` wrote."""

    files: int
    rows: int
    bytes: int
    seconds: float

    @property
    def files_per_second(self) -> float:
        return self.files / self.seconds if self.seconds > 0 else float("inf")


# ---------------------------------------------------------------------------------------------------
# Files per year and station spans


def _curve(year: int) -> float:
    """Expected files in ``year`` for the real archive (linear between the anchor years)."""
    anchors = sorted(_ACTIVE)
    if year <= anchors[0]:
        return _ACTIVE[anchors[0]] * 0.76
    for lo, hi in itertools.pairwise(anchors):
        if lo <= year <= hi:
            frac = (year - lo) / (hi - lo)
            return (_ACTIVE[lo] + frac * (_ACTIVE[hi] - _ACTIVE[lo])) * 0.76
    return _ACTIVE[anchors[-1]] * 0.76


def files_per_year(files: int, years: Iterable[int]) -> dict[int, int]:
    """How many station files each year gets, for ``files`` in total over ``years``, plus the
    (rounded, scaled) counts of every other year 1929-2025, which decide where station spans end.

    The requested years share exactly ``files`` by largest remainder, in proportion to the real curve.
    """
    chosen = sorted(set(years))
    if not chosen:
        raise ValueError("years must not be empty")
    for y in chosen:
        if not FIRST_YEAR <= y <= LAST_YEAR:
            raise ValueError(f"year {y} is outside {FIRST_YEAR}-{LAST_YEAR}")
    if files < 0:
        raise ValueError("files must be >= 0")
    total = sum(_curve(y) for y in chosen)
    scale = files / total
    counts = {y: round(_curve(y) * scale) for y in range(FIRST_YEAR, LAST_YEAR + 1)}
    exact = {y: _curve(y) * scale for y in chosen}
    for y in chosen:
        counts[y] = math.floor(exact[y])
    short = files - sum(counts[y] for y in chosen)
    for y in sorted(chosen, key=lambda y: (-(exact[y] - math.floor(exact[y])), y))[:short]:
        counts[y] += 1
    return counts


def _slot_life(seed: int, slot: int) -> tuple[int, int]:
    """Span length (years) and phase of the stations that occupy ``slot`` one after the other."""
    h = mix_seed(seed, slot, 7) % 1_000_003
    life = 12 + h % 100
    return life, (h // 101) % life


def _epoch(seed: int, slot: int, year: int) -> int:
    life, phase = _slot_life(seed, slot)
    return (year - FIRST_YEAR + phase) // life


# ---------------------------------------------------------------------------------------------------
# Stations

# ---------------------------------------------------------------------------------------------------
# Pre-rendered pieces (built once per process; independent of the seed)

_T_OFF = 3000  # temperatures span -300.0 .. 299.9 F, far beyond any station (no wrap-around)
_P_MAX = 12_000  # pressures span 0 .. 1199.9 mb


@cache
def _tables() -> dict[str, list]:
    nd = NormalDist()
    trng = random.Random(20130101)
    # temps[t] is the text of t tenths of a degree for -2000 <= t < 2000 (negative t index from the end)
    temps = [f"{k / 10:6.1f}" for k in range(_T_OFF)] + [f"{k / 10:6.1f}" for k in range(-_T_OFF, 0)]
    slp = [f"{k / 10:6.1f}" for k in range(_P_MAX)]
    # STP keeps only the last three digits before the point: 1013.2 is written 013.2
    stp = [f"{k % 10_000 / 10:05.1f}" for k in range(_P_MAX)]
    norm = [nd.inv_cdf((i + 0.5) / 256) for i in range(256)]
    slp_dev = [round(nd.inv_cdf((i + 0.5) / 256) * 70) for i in range(256)]
    humid_dep = [max(0, round(trng.gammavariate(2.0, 30))) for _ in range(256)]
    arid_dep = [max(0, round(trng.gammavariate(3.0, 80))) for _ in range(256)]
    dmax = [max(5, round(trng.gauss(75, 28))) for _ in range(256)]
    dmin = [max(5, round(trng.gauss(75, 28))) for _ in range(256)]
    flags = ["*" if i < 51 else " " for i in range(256)]  # about 20% derived from hourly data
    return {
        "temps": temps,
        "slp": slp,
        "slp_missing": ["9999.9"] * _P_MAX,
        "stp": stp,
        "stp_missing": ["999.9"] * _P_MAX,
        "norm": norm,
        "slp_dev": slp_dev,
        "humid_dep": humid_dep,
        "arid_dep": arid_dep,
        "dmax": dmax,
        "dmin": dmin,
        "flags": flags,
    }


@cache
def _wind(count: str, has_visib: bool) -> list[str]:
    """256 pre-rendered VISIB..GUST groups for a day with ``count`` observations."""
    rng = random.Random(f"wind/{count}/{has_visib}")
    out = []
    for _ in range(256):
        if has_visib:
            r = rng.random()
            vis = 10.0 if r < 0.45 else 6.2 if r < 0.6 else round(rng.uniform(0.3, 9.9), 1)
            vis_s = f'{vis:5.1f}","{count}'
        else:
            vis_s = '999.9"," 0'
        wdsp = round(min(60.0, rng.gammavariate(3.0, 2.6)), 1)
        mxspd = float(round(wdsp * rng.uniform(1.3, 2.0) + 1)) - (0.1 if rng.random() < 0.2 else 0)
        gust = f"{float(round(mxspd + rng.uniform(4, 12))):5.1f}" if rng.random() < 0.59 else "999.9"
        out.append(f'{vis_s}","{wdsp:5.1f}","{count}","{mxspd:5.1f}","{gust}')
    return out


@cache
def _tails(flag_mode: int, kind: int, cold: bool) -> list[str]:
    """256 pre-rendered PRCP..FRSHTT groups; kind 0 = dry, 1 = wet, 2 = PRCP not reported."""
    rng = random.Random(f"tail/{flag_mode}/{kind}/{cold}")
    out = []
    for _ in range(256):
        fog = "1" if rng.random() < (0.05 if kind == 0 else 0.12) else "0"
        sndp = f"{rng.randrange(1, 240) / 10:5.1f}" if cold and rng.random() < 0.35 else "999.9"
        if kind == 2:
            out.append(f'99.99"," ","{sndp}","{fog}00000')
            continue
        if kind == 0:
            flag = "I" if flag_mode == 1 and rng.random() < 0.85 else "G"
            out.append(f' 0.00","{flag}","{sndp}","{fog}00000')
            continue
        amount = min(9.99, round(rng.expovariate(1 / 0.3), 2)) or 0.01
        flag = "G" if rng.random() < 0.8 else rng.choice("ABCDEFH")
        rain, snow = ("0", "1") if cold else ("1", "1" if rng.random() < 0.05 else "0")
        thunder = "1" if not cold and rng.random() < 0.08 else "0"
        hail = "1" if thunder == "1" and rng.random() < 0.05 else "0"
        if cold and rng.random() < 0.2:
            rain = "1"
        out.append(f'{amount:5.2f}","{flag}","{sndp}","{fog}{rain}{snow}{hail}{thunder}0')
    return out


@cache
def _dates(year: int) -> tuple[str, ...]:
    start = date(year, 1, 1)
    days = 366 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 365
    return tuple((start + timedelta(d)).isoformat() for d in range(days))


@cache
def _cosines() -> tuple[float, ...]:
    """``_cosines()[400 + k]`` is the seasonal cycle ``k`` days away from the warmest day."""
    return tuple(math.cos(2 * math.pi * k / 365.25) for k in range(-400, 401))


# ---------------------------------------------------------------------------------------------------
# One file

_RAND_PER_DAY = 12
_ZERO_COUNTS = [" 0"] * 256
_T_BLANK = '9999.9"," 0'  # a missing TEMP or DEWP with its count, 11 characters like a real one


def _render(
    st: Station, year: int, rng: random.Random, first: int, last: int, gaps: bool = True
) -> tuple[str, int]:
    """The CSV text of one station-year covering day indexes ``first``..``last`` (inclusive).

    With ``gaps`` false every day of the span is kept (for spans that lost all their days to gaps).
    The loop body is a single f-string over table look-ups: per-station choices (no SLP, no STP,
    the PRCP mix) are made once by picking tables, not per row by branching.
    """
    tb = _tables()
    temps, norm, flags = tb["temps"], tb["norm"], tb["flags"]
    dep = tb["arid_dep"] if st.arid else tb["humid_dep"]
    dmax, dmin, slp_dev = tb["dmax"], tb["dmin"], tb["slp_dev"]
    slp_t = tb["slp"] if st.has_slp else tb["slp_missing"]
    stp_t = tb["stp"] if st.has_stp else tb["stp_missing"]
    dates = _dates(year)
    cos = _cosines()
    counts = st.counts if year >= 1973 else EARLY_COUNTS
    counts256 = list(counts) * 16
    slp_c = counts256 if st.has_slp else _ZERO_COUNTS
    stp_c = counts256 if st.has_stp else _ZERO_COUNTS
    by_count = {c: _wind(c, st.has_visib) for c in set(counts)}
    winds256 = [by_count[c] for c in counts256]
    # PRCP kind by one byte: not reported, wet, dry; each kind has a warm and a cold table.
    miss = st.prcp_miss256
    wet = miss + (256 - miss) * st.wet256 // 256
    dry, rainy, unreported = (
        [_tails(st.flag_mode, kind, cold) for cold in (False, True)] for kind in (0, 1, 2)
    )
    tails256 = [unreported] * miss + [rainy] * (wet - miss) + [dry] * (256 - wet)

    # Completeness profile: most files are near complete, some patchy, a few sparse or with an outage.
    r = rng.random()
    gap_p, gap_max = (1, 3) if r < 0.55 else (6, 10) if r < 0.82 else (24, 6)
    outage: tuple[int, int] | None = None
    if not gaps:
        gap_p = 0
    elif rng.random() < 0.25:
        start = rng.randrange(first, last + 1)
        outage = (start - first, start - first + rng.randrange(20, 200))

    pre = f'"{st.id}","'
    mid = f'","{st.lat}","{st.lon}","{st.elev}","{st.name}","'
    blank_at = len(pre) + 10 + len(mid)  # where TEMP starts in a row
    t0_10, amp_10, peak = st.t0 * 10, st.amp * 10, st.peak
    s_in = st.sigma * 10 * math.sqrt(1 - PHI * PHI)
    noise = [z * s_in for z in norm]
    slp_base = 10_130 + st.slp_bias
    slp_dev = [slp_base + d for d in slp_dev]
    drop = st.stp_drop
    rb = rng.randbytes((last - first + 1) * _RAND_PER_DAY)
    cols = [rb[i::_RAND_PER_DAY] for i in range(_RAND_PER_DAY)]
    if outage:  # zero bytes in the gap columns drop each of those days
        lo, hi = outage
        for i in (1, 2):
            cols[i] = cols[i][:lo] + bytes(len(cols[i][lo:hi])) + cols[i][hi:]
    clim = [t0_10 + amp_10 * c for c in cos[400 + first - peak : 401 + last - peak]]
    anomaly = rng.gauss(0, st.sigma * 10)
    gap = 0
    out = [HEADER]
    append = out.append
    for day, normal, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11 in zip(
        dates[first : last + 1], clim, *cols
    ):
        anomaly = anomaly * PHI + noise[b0]
        if gap:
            gap -= 1
            continue
        if b1 < gap_p:
            gap = b2 % gap_max
            continue
        t = int(normal + anomaly)
        c = counts256[b3]
        slp = slp_dev[b5]
        f = flags[b6]
        row = (
            f'{pre}{day}{mid}{temps[t]}","{c}","{temps[t - dep[b4]]}","{c}","'
            f'{slp_t[slp]}","{slp_c[b0]}","{stp_t[slp - drop]}","{stp_c[b0]}","{winds256[b3][b8]}","'
            f'{temps[t + dmax[b9]]}","{f}","{temps[t - dmin[b10]]}","{f}","{tails256[b7][t < 350][b11]}"\n'
        )
        if b1 == 255:  # rarely, a day without a mean temperature (1/65536) or dew point (1/2000)
            if b2 == 255:
                row = row[:blank_at] + _T_BLANK + row[blank_at + 11 :]
            elif b2 < 33:
                row = row[: blank_at + 14] + _T_BLANK + row[blank_at + 25 :]
        append(row)
    return "".join(out), len(out) - 1


# ---------------------------------------------------------------------------------------------------
# Many files


def iter_files(
    *, files: int, seed: int = 0, years: Iterable[int] = range(FIRST_YEAR, LAST_YEAR + 1)
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(key, csv_bytes)`` for ``files`` station-years, year by year, deterministically."""
    for key, data, _rows in _iter_with_rows(files=files, seed=seed, years=years):
        yield key, data


def _iter_with_rows(
    *, files: int, seed: int, years: Iterable[int], shard: int = 0, shards: int = 1
) -> Iterator[tuple[str, bytes, int]]:
    """Every file with its row count; with ``shards`` > 1 only the files whose index is ``shard``
    modulo ``shards`` (each file depends on nothing but its own index, so shards can run anywhere)."""
    chosen = sorted(set(years))
    counts = files_per_year(files, chosen)
    slots = max(counts.values(), default=0)
    index = -1
    for year in chosen:
        days = len(_dates(year))
        end_day = (LAST_DAY - date(year, 1, 1)).days if year == LAST_YEAR else days - 1
        for slot in range(counts[year]):
            index += 1
            if index % shards != shard:
                continue
            epoch = _epoch(seed, slot, year)
            number = slot + epoch * slots
            st = station(seed, number)
            rng = random.Random(mix_seed(seed, number, year, 2))
            begins = year == FIRST_YEAR or slot >= counts[year - 1] or _epoch(seed, slot, year - 1) != epoch
            ends = year < LAST_YEAR and (slot >= counts[year + 1] or _epoch(seed, slot, year + 1) != epoch)
            first = rng.randrange(0, end_day + 1) if begins and rng.random() < 0.85 else 0
            last = rng.randrange(first, end_day + 1) if ends and rng.random() < 0.85 else end_day
            text, rows = _render(st, year, rng, first, last)
            if rows == 0:  # GSOD has no file for a station-year without days: keep the span whole
                text, rows = _render(
                    st, year, random.Random(mix_seed(seed, number, year, 3)), first, last, False
                )
            yield f"{year}/{st.id}.csv", text.encode("ascii"), rows


def generate(
    sink: Callable[[str, bytes], object],
    *,
    files: int,
    seed: int = 0,
    years: Iterable[int] = range(FIRST_YEAR, LAST_YEAR + 1),
) -> GenerateSummary:
    """Write ``files`` GSOD station-year CSVs through ``sink(key, data)``; keys are ``YYYY/<id>.csv``.

    The same ``(files, seed, years)`` always gives the same keys and bytes. Memory does not depend on
    ``files``: every file is built, handed to the sink and dropped.
    """
    started = time.perf_counter()
    n = rows = size = 0
    for key, data, r in _iter_with_rows(files=files, seed=seed, years=years):
        sink(key, data)
        n += 1
        rows += r
        size += len(data)
    return GenerateSummary(files=n, rows=rows, bytes=size, seconds=time.perf_counter() - started)


def _write_shard(out: str, files: int, seed: int, years: range, shard: int, shards: int) -> GenerateSummary:
    started = time.perf_counter()
    put = directory_sink(out)
    n = rows = size = 0
    for key, data, r in _iter_with_rows(files=files, seed=seed, years=years, shard=shard, shards=shards):
        put(key, data)
        n += 1
        rows += r
        size += len(data)
    return GenerateSummary(files=n, rows=rows, bytes=size, seconds=time.perf_counter() - started)


def directory_sink(root: str) -> Callable[[str, bytes], None]:
    """A sink writing ``root/<key>`` (a plain directory tree, the local store's layout)."""
    made: set[str] = set()

    def put(key: str, data: bytes) -> None:
        path = os.path.join(root, *key.split("/"))
        parent = os.path.dirname(path)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        with open(path, "wb") as fh:
            fh.write(data)

    return put


def _parse_years(text: str) -> range:
    lo, _, hi = text.partition("-")
    return range(int(lo), int(hi or lo) + 1)


def main(argv: list[str] | None = None) -> int:
    """CLI: ``python -m examples.gsod.generate --out DIR --files N [--seed S] [--years 1929-2025]``."""
    parser = argparse.ArgumentParser(
        prog="python -m examples.gsod.generate",
        description="Write realistic NOAA GSOD station-year CSVs as DIR/YYYY/<station>.csv.",
    )
    parser.add_argument("--out", required=True, help="directory to write YYYY/<station>.csv under")
    parser.add_argument("--files", type=int, required=True, help="number of station-year files")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--years",
        type=_parse_years,
        default=range(FIRST_YEAR, LAST_YEAR + 1),
        help="a year or a range such as 2000-2025 (default 1929-2025)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (the output is the same)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be >= 1")
    started = time.perf_counter()
    try:
        files_per_year(args.files, args.years)  # validates before any process starts
        if args.jobs == 1:
            parts = [_write_shard(args.out, args.files, args.seed, args.years, 0, 1)]
        else:
            with ProcessPoolExecutor(args.jobs) as pool:
                futures = [
                    pool.submit(_write_shard, args.out, args.files, args.seed, args.years, i, args.jobs)
                    for i in range(args.jobs)
                ]
                parts = [f.result() for f in futures]
    except ValueError as exc:
        parser.error(str(exc))
    summary = GenerateSummary(
        files=sum(p.files for p in parts),
        rows=sum(p.rows for p in parts),
        bytes=sum(p.bytes for p in parts),
        seconds=time.perf_counter() - started,
    )
    mb = summary.bytes / 1e6
    print(
        f"wrote {summary.files} files, {summary.rows} rows, {mb:.1f} MB to {args.out} in "
        f"{summary.seconds:.2f} s ({summary.files_per_second:.0f} files/s, {mb / summary.seconds:.1f} MB/s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
