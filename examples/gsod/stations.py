"""Synthetic GSOD stations in the style of NOAA's station catalogue (isd-history).

A station is a pure function of ``(seed, number)``: its id (6-character USAF + 5-digit WBAN, unique per
number), its GSOD NAME (``<NAME>, <CTRY>`` or ``<NAME>, <ST> US``), coordinates and elevation as the
CSV writes them, and the parameters of its climate. Nothing is cached, so a generator over millions of
files keeps no per-station state.

The country and state tables below are statistics derived from isd-history (shares of stations,
latitude/longitude 5th-95th percentiles, median elevations); the catalogue itself is not shipped.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

__all__ = ["EARLY_COUNTS", "HOURLY_COUNTS", "SYNOPTIC_COUNTS", "Station", "mix_seed", "station"]

# Country table derived from the station catalogue's statistics (FIPS code, share of stations, 5th-95th
# percentile latitude and longitude, median elevation in metres, usual first two USAF digits, aridity).
# Aridity is the chance that a station there has a desert climate (hot summers, dry air).
_COUNTRIES: tuple[tuple[str, int, float, float, float, float, float, str, float], ...] = (
    ("US", 6102, 0, 0, 0, 0, 0, "72", 0),  # placeholder: US stations come from _US_STATES
    ("RS", 1991, 45.2, 69.1, 32.3, 151.0, 141, "2", 0.0),
    ("CA", 1720, 44.0, 68.9, -129.2, -61.8, 93, "71", 0.0),
    ("AS", 1256, -41.2, -14.3, 116.0, 152.5, 150, "94", 0.35),
    ("CH", 959, 23.4, 46.2, 87.1, 124.9, 300, "5", 0.1),
    ("BR", 907, -28.6, -2.2, -60.7, -37.0, 106, "8", 0.0),
    ("UK", 518, 50.8, 57.7, -6.3, 1.1, 62, "03", 0.0),
    ("IN", 511, 10.8, 31.5, 72.8, 92.8, 124, "42", 0.25),
    ("GM", 467, 48.0, 54.1, 6.9, 14.0, 164, "10", 0.0),
    ("SW", 431, 56.0, 67.7, 12.2, 22.1, 163, "02", 0.0),
    ("JA", 354, 26.2, 43.6, 127.8, 142.5, 29, "47", 0.0),
    ("FR", 314, 42.6, 49.8, -2.8, 8.8, 286, "07", 0.0),
    ("KZ", 311, 42.9, 53.6, 51.0, 82.5, 144, "35", 0.4),
    ("NO", 287, 58.9, 70.1, 5.9, 26.4, 125, "01", 0.0),
    ("IT", 277, 37.5, 46.3, 7.8, 16.8, 70, "16", 0.0),
    ("SF", 276, -34.0, -23.6, 18.5, 31.4, 394, "68", 0.3),
    ("MX", 240, 16.2, 31.2, -112.3, -88.4, 900, "76", 0.4),
    ("AU", 236, 46.7, 48.5, 10.2, 16.5, 600, "11", 0.0),
    ("RO", 205, 44.1, 47.7, 21.6, 28.3, 241, "15", 0.0),
    ("UP", 194, 45.0, 51.3, 23.4, 38.0, 193, "33", 0.0),
    ("FI", 186, 60.4, 69.0, 21.8, 29.5, 112, "02", 0.0),
    ("AR", 184, -50.3, -24.9, -71.2, -57.5, 202, "87", 0.2),
    ("SZ", 173, 46.2, 47.5, 6.6, 9.9, 718, "06", 0.0),
    ("PL", 173, 49.8, 54.5, 15.2, 22.7, 109, "12", 0.0),
    ("KS", 173, 34.9, 38.2, 126.4, 129.3, 59, "47", 0.0),
    ("TH", 166, 7.2, 19.3, 98.9, 104.1, 61, "48", 0.0),
    ("SP", 163, 28.6, 43.4, -13.9, 2.3, 300, "08", 0.2),
    ("TU", 159, 36.6, 41.3, 27.0, 42.7, 549, "17", 0.1),
    ("AG", 145, 21.0, 36.8, -1.8, 8.4, 476, "60", 0.9),
    ("ID", 138, -8.8, 3.7, 98.7, 136.1, 20, "96", 0.0),
    ("AF", 127, 31.5, 37.4, 62.2, 71.3, 1215, "40", 0.6),
    ("IR", 127, 26.8, 38.2, 46.2, 60.9, 1109, "40", 0.7),
    ("AY", 108, -84.6, -63.0, -119.5, 163.7, 1130, "89", 0.0),
    ("CI", 107, -54.9, -22.5, -73.9, -68.5, 114, "85", 0.2),
    ("PK", 102, 25.1, 35.8, 63.3, 74.5, 269, "41", 0.6),
    ("RP", 99, 6.9, 18.2, 120.3, 125.6, 50, "98", 0.0),
    ("VM", 95, 10.1, 22.1, 104.0, 109.0, 20, "48", 0.0),
    ("SA", 91, 18.2, 31.0, 38.1, 50.2, 615, "40", 0.95),
    ("CU", 91, 20.1, 23.0, -84.1, -75.2, 35, "78", 0.0),
    ("EC", 91, -4.0, 0.6, -89.6, -76.9, 518, "84", 0.0),
    ("IZ", 85, 30.5, 36.8, 41.6, 47.2, 138, "40", 0.9),
    ("GR", 84, 35.4, 40.9, 20.8, 27.1, 30, "16", 0.0),
    ("EG", 83, 24.4, 31.4, 27.2, 34.5, 27, "62", 0.95),
    ("DA", 81, 54.8, 57.3, 8.4, 12.7, 19, "06", 0.0),
    ("MG", 81, 43.6, 49.8, 91.5, 115.4, 1213, "44", 0.5),
    ("NZ", 81, -46.4, -35.1, 167.9, 176.9, 36, "93", 0.0),
    ("CO", 79, 0.7, 11.1, -77.7, -70.2, 248, "80", 0.0),
    ("GL", 78, 61.2, 78.1, -68.8, -21.9, 90, "04", 0.0),
    ("IC", 72, 63.4, 66.3, -24.0, -14.1, 33, "04", 0.0),
    ("TW", 66, 22.0, 25.1, 119.9, 121.8, 24, "46", 0.0),
    ("PE", 65, -16.7, -3.6, -80.6, -70.2, 665, "84", 0.2),
    ("MO", 63, 29.7, 35.3, -9.7, -3.0, 200, "60", 0.5),
)

# US states: (code, share, latitude and longitude 5th-95th percentiles, median elevation, aridity).
_US_STATES: tuple[tuple[str, int, float, float, float, float, float, float], ...] = (
    ("TX", 442, 27.5, 34.4, -103.1, -94.8, 287, 0.3),
    ("AK", 431, 53.9, 70.2, -167.9, -133.9, 40, 0.0),
    ("CA", 424, 32.8, 40.8, -122.6, -116.2, 150, 0.3),
    ("FL", 256, 25.4, 30.7, -87.0, -80.2, 5, 0.0),
    ("MI", 225, 41.9, 46.8, -87.9, -82.8, 204, 0.0),
    ("MN", 204, 43.7, 48.6, -96.3, -91.8, 343, 0.0),
    ("NC", 176, 34.3, 36.4, -82.6, -76.0, 35, 0.0),
    ("CO", 161, 37.3, 40.6, -108.5, -102.6, 1838, 0.3),
    ("IL", 149, 37.8, 42.2, -90.7, -87.6, 190, 0.0),
    ("GA", 147, 31.0, 34.3, -85.0, -81.3, 108, 0.0),
    ("WI", 146, 42.6, 46.1, -92.1, -87.5, 267, 0.0),
    ("VA", 134, 36.6, 38.9, -81.8, -75.8, 63, 0.0),
    ("WA", 131, 46.1, 48.5, -124.2, -117.4, 92, 0.1),
    ("NM", 125, 32.1, 36.7, -108.4, -103.2, 1618, 0.6),
    ("AZ", 125, 31.5, 36.7, -114.6, -109.4, 968, 0.9),
    ("IA", 124, 40.7, 43.2, -95.8, -91.1, 319, 0.0),
    ("NY", 118, 40.6, 44.7, -79.3, -72.8, 121, 0.0),
    ("LA", 113, 29.3, 32.5, -93.7, -89.4, 10, 0.0),
    ("OK", 113, 34.0, 36.8, -99.8, -94.8, 326, 0.1),
    ("AL", 112, 30.6, 34.7, -88.0, -85.5, 142, 0.0),
    ("NE", 111, 40.2, 42.6, -103.7, -95.9, 631, 0.0),
    ("OR", 109, 42.1, 45.8, -124.3, -117.8, 155, 0.1),
    ("PA", 104, 39.9, 41.6, -80.3, -75.2, 282, 0.0),
    ("OH", 104, 39.2, 41.8, -84.4, -80.7, 268, 0.0),
    ("MO", 99, 36.6, 40.1, -94.9, -89.9, 265, 0.0),
    ("KS", 97, 37.1, 39.6, -101.7, -94.9, 418, 0.0),
    ("MT", 95, 44.7, 48.6, -114.2, -104.8, 1152, 0.0),
    ("SC", 94, 32.5, 34.9, -82.7, -78.9, 60, 0.0),
    ("UT", 92, 37.1, 41.4, -113.9, -109.5, 1451, 0.6),
    ("WY", 87, 41.1, 44.5, -110.7, -104.6, 1872, 0.1),
    ("AR", 84, 33.6, 36.4, -94.4, -90.2, 107, 0.0),
    ("ND", 82, 46.2, 48.9, -103.4, -97.2, 512, 0.0),
    ("MS", 76, 30.4, 35.0, -91.0, -88.5, 74, 0.0),
    ("IN", 75, 38.2, 41.7, -87.4, -85.2, 241, 0.0),
    ("MA", 68, 41.3, 42.7, -73.3, -70.0, 40, 0.0),
    ("NV", 67, 36.1, 41.6, -119.8, -114.8, 1333, 0.9),
    ("ID", 67, 42.2, 47.8, -116.8, -111.8, 1270, 0.2),
    ("KY", 61, 36.7, 38.5, -88.4, -82.7, 241, 0.0),
    ("TN", 59, 35.1, 36.6, -89.9, -82.4, 208, 0.0),
    ("ME", 59, 43.4, 47.0, -70.7, -67.3, 94, 0.0),
    ("MD", 58, 38.3, 39.7, -78.8, -75.5, 18, 0.0),
    ("SD", 58, 42.9, 45.9, -103.8, -96.6, 530, 0.0),
    ("NJ", 51, 39.0, 41.0, -74.9, -74.0, 25, 0.0),
    ("HI", 50, 19.6, 22.0, -159.6, -155.1, 22, 0.0),
    ("WV", 39, 37.3, 40.2, -82.6, -78.0, 374, 0.0),
    ("NH", 39, 42.8, 44.6, -72.3, -70.8, 154, 0.0),
    ("CT", 27, 41.2, 41.9, -73.5, -72.0, 23, 0.0),
    ("VT", 24, 42.9, 44.9, -73.2, -72.0, 240, 0.0),
    ("RI", 14, 41.2, 41.9, -71.8, -71.3, 28, 0.0),
    ("DE", 11, 38.7, 39.7, -75.6, -75.1, 15, 0.0),
)

# Name vocabulary in the catalogue's style: upper-case ASCII, airport and landmark words.
_SYLLABLES = (
    "BA",
    "BE",
    "BO",
    "BRA",
    "CA",
    "CHE",
    "DA",
    "DAL",
    "DO",
    "FA",
    "FOR",
    "GA",
    "GRA",
    "HA",
    "HAL",
    "KA",
    "KAR",
    "KO",
    "LA",
    "LIN",
    "LO",
    "MA",
    "MAR",
    "MO",
    "NA",
    "NO",
    "NOR",
    "PA",
    "PI",
    "RA",
    "RO",
    "SA",
    "SAN",
    "SO",
    "TA",
    "TO",
    "TRA",
    "VA",
    "VIK",
    "WA",
    "YA",
    "ZA",
    "ELM",
    "ASH",
    "OAK",
    "FOS",
    "BUR",
    "STER",
    "HOLM",
    "TON",
    "VILLE",
    "BERG",
)
_ENDINGS = (
    "TON",
    "VILLE",
    "BURG",
    "FIELD",
    "DALE",
    "VIK",
    "SK",
    "OVO",
    "GRAD",
    "STAD",
    "ERN",
    "ING",
    "AN",
    "IA",
    "O",
    "A",
)
_SUFFIXES = (
    ("AIRPORT", 20),
    ("INTL", 7),
    ("INTERNATIONAL AIRPORT", 4),
    ("MUNICIPAL", 6),
    ("MUNICIPAL AIRPORT", 4),
    ("ARPT", 6),
    ("AP", 4),
    ("RGNL", 3),
    ("REGIONAL AIRPORT", 2),
    ("COUNTY AIRPORT", 3),
    ("FIELD", 3),
    ("(AUT)", 2),
    ("AFB", 2),
    ("AAF", 1),
    ("AWS", 1),
    ("POST OFFICE", 1),
    ("RESEARCH STATION", 1),
)
_PREFIXES = (("LAKE", 3), ("FORT", 2), ("MOUNT", 2), ("CAPE", 2), ("PORT", 2), ("SAN", 2), ("ST", 1))


@dataclass(frozen=True)
class Station:
    """A synthetic station; ``lat``/``lon``/``elev`` are the exact CSV texts (possibly empty)."""

    id: str
    name: str
    lat: str
    lon: str
    elev: str
    t0: float  # annual mean TEMP, deg F
    amp: float  # half the annual range, deg F
    peak: int  # day of year (0-based) of the warmest climatological day
    sigma: float  # standard deviation of the daily anomaly, deg F
    counts: tuple[str, ...]  # 16 pre-rendered observation counts to draw from
    has_slp: bool
    has_stp: bool
    has_visib: bool
    stp_drop: int  # SLP - STP in tenths of mb
    slp_bias: int  # station's mean SLP offset in tenths of mb
    wet256: int  # chance of a wet day, in 1/256
    prcp_miss256: int  # chance of a missing PRCP, in 1/256
    flag_mode: int  # 0: dry days flagged G, 1: dry days flagged I
    arid: bool


def mix_seed(*parts: int) -> int:
    """A deterministic seed from integers (Random seeds from big ints exactly)."""
    acc = 0x9E3779B97F4A7C15
    for p in parts:
        acc = (acc * 1_000_003) ^ (p & 0xFFFFFFFFFFFFFFFF)
    return acc


def _weighted(rng: random.Random, table: tuple[tuple, ...]) -> tuple:
    return rng.choices(table, weights=[row[1] for row in table])[0]


def _coord(rng: random.Random, value: float) -> str:
    """Latitude/longitude text in the catalogue's mix of precisions (shortest round-trip decimals)."""
    r = rng.random()
    if r < 0.4:
        v = round(value, 3)
    elif r < 0.65:
        # degrees and minutes converted to decimals, as in 60.1333333 or -8.6666667
        v = round(round(value * 60) / 60, 7)
    elif r < 0.85:
        v = round(value, rng.choice((1, 2)))
    else:
        v = round(value, rng.choice((4, 5, 6)))
    return repr(v + 0.0)


def _name(rng: random.Random) -> str:
    def word() -> str:
        w = "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((1, 2, 2, 3))))
        if rng.random() < 0.4:
            w += rng.choice(_ENDINGS)
        return w

    parts = [word()]
    r = rng.random()
    if r < 0.12:
        parts.insert(0, rng.choices([p for p, _ in _PREFIXES], [w for _, w in _PREFIXES])[0])
    elif r < 0.2:
        parts.append(word())
    elif r < 0.24:
        parts[0] = f"{parts[0]} / {word()}"
    elif r < 0.27:
        parts[0] = f"{parts[0]}-{word()}"
    elif r < 0.29:
        parts[0] = f"{parts[0]} & {word()}"
    elif r < 0.31:
        parts[0] = f"{parts[0][:-1]}'{parts[0][-1]}"
    if rng.random() < 0.55:
        parts.append(rng.choices([s for s, _ in _SUFFIXES], [w for _, w in _SUFFIXES])[0])
    return " ".join(parts)[:50].rstrip()


HOURLY_COUNTS = tuple(f"{c:2d}" for c in (24,) * 10 + (23, 23, 22, 21, 18, 17))
SYNOPTIC_COUNTS = tuple(f"{c:2d}" for c in (8,) * 8 + (4,) * 4 + (7, 6, 5, 4))
EARLY_COUNTS = tuple(f"{c:2d}" for c in (4,) * 10 + (8, 8, 8, 6, 5, 7))


def _station_ids(rng: random.Random, number: int, block: str, us: bool) -> str:
    """USAF (6 characters) + WBAN (5 digits), unique per station number.

    The last four USAF digits are a bijection of ``number % 10000``; stations beyond the first 10,000
    get a WBAN from a range that encodes ``number // 10000``, so two numbers never share an id.
    """
    high, low = divmod(number, 10_000)
    tail = f"{(low * 7_919 + 1_234) % 10_000:04d}"
    usaf = (block + "0000")[:2] + tail
    if us and rng.random() < 0.008:
        usaf = "A" + usaf[1:]  # newer US stations use a letter prefix, e.g. A51256
    if high:
        wban = f"{70_000 + ((high - 1) % 25) * 1_000 + rng.randrange(1_000):05d}"
    elif rng.random() < (0.62 if us else 0.02):
        wban = f"{rng.randrange(100, 70_000):05d}"
    else:
        wban = "99999"
    return usaf + wban


def station(seed: int, number: int) -> Station:
    """The station with this number under ``seed`` (a pure function; nothing is cached)."""
    rng = random.Random(mix_seed(seed, number, 1))
    ctry = _weighted(rng, _COUNTRIES)
    us = ctry[0] == "US"
    if us:
        st, _, la0, la1, lo0, lo1, elev_med, aridity = _weighted(rng, _US_STATES)
        block = {"AK": "70", "HI": "91"}.get(st, rng.choice(("72", "72", "72", "72", "74", "99")))
        suffix = f"{st} US"
    else:
        code, _, la0, la1, lo0, lo1, elev_med, block, aridity = ctry
        block = block if len(block) == 2 else block + str(rng.randrange(10))
        suffix = code
    lat = rng.uniform(la0, la1)
    lon = rng.uniform(lo0, lo1)
    r = rng.random()
    if r < 0.005:  # below sea level, as around the Dead Sea, the Caspian or Death Valley
        elev = -rng.uniform(1, 100)
    elif r < 0.06:  # coastal stations at a few metres
        elev = rng.uniform(0, 15)
    else:
        elev = min(4800.0, elev_med * math.exp(rng.gauss(0, 0.7)))
    arid = rng.random() < aridity
    sid = _station_ids(rng, number, block, us)
    name = f"{_name(rng)}, {suffix}"

    if rng.random() < 0.001:  # a few files carry empty metadata; parsers must cope
        lat_s = lon_s = elev_s = ""
    else:
        lat_s, lon_s = _coord(rng, lat), _coord(rng, lon)
        elev_s = repr(round(elev, rng.choice((1, 1, 1, 2))) + 0.0)

    absl = abs(lat)
    # Climatology: ~80 F in the tropics, -1 F per degree beyond 20, faster towards the poles,
    # -3.5 F per 1000 ft; the annual swing grows with latitude and continentality.
    cont = rng.uniform(0.5, 1.2)
    t0 = 80 - max(0.0, absl - 20) - 0.8 * max(0.0, absl - 60) - 0.0115 * elev + rng.gauss(0, 2.5)
    amp = cont * 30 * min(1.3, (absl / 60) ** 1.3)
    if lat < 0:
        amp *= 0.75  # oceanic southern hemisphere
    if arid and absl < 40:
        t0 += 8
        amp += 4
    peak = (200 if lat >= 0 else 19) + rng.randrange(-6, 7)
    sigma = 2.0 + 5.0 * min(1.0, absl / 60) * (0.6 + 0.4 * cont)

    hourly = rng.random() < (0.7 if us else 0.35)
    return Station(
        id=sid,
        name=name,
        lat=lat_s,
        lon=lon_s,
        elev=elev_s,
        t0=t0,
        amp=amp,
        peak=peak,
        sigma=sigma,
        counts=HOURLY_COUNTS if hourly else SYNOPTIC_COUNTS,
        has_slp=rng.random() < 0.84,
        has_stp=rng.random() < 0.84,
        has_visib=rng.random() < 0.53,
        stp_drop=int(elev * 1.2),
        slp_bias=rng.randrange(-30, 31),
        wet256=int(256 * (rng.uniform(0.08, 0.2) if arid else rng.uniform(0.25, 0.45))),
        prcp_miss256=0 if rng.random() < 0.8 else rng.randrange(64, 256),
        flag_mode=0 if rng.random() < 0.6 else 1,
        arid=arid,
    )
