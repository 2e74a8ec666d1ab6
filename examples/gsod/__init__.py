"""The NOAA GSOD example: highest mean temperature per month over station-year CSVs.

``generate`` writes realistic station-year files in NOAA's exact CSV format (stations from
``stations``), ``handlers`` holds the Lambda-style handlers that ``workflow.asl.json`` calls, and
``reference`` computes the same answer in one process so that tests can compare the two key by key.
``samples/2013`` holds three real station-years in NOAA's format.
"""
