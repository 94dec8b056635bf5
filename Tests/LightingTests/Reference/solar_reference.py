#!/usr/bin/env python3
"""Generates Tests/LightingTests/Fixtures/solar_reference.json with the `ephem` ephemeris.

The Swift SolarCalculator (NOAA/Meeus) is compared against this independent ephemeris
(VSOP87 theory). Settings match lampd's definitions:

* sunrise/sunset: pressure=0 (no built-in refraction), horizon='-0:34', upper limb
  (use_center=False): the sun's upper limb 34' below the geometric horizon. With the
  sun's ~16' semi-diameter this is the NOAA zenith of 90.833 deg for the centre.
* civil dawn/dusk: horizon='-6', use_center=True; nautical: horizon='-12', use_center=True.

"The day" is the local calendar date in the site's IANA time zone: an event is recorded
when it falls in [local midnight, next local midnight). Otherwise the value is null and
`state` says why: "polarNight" (sun below the event's altitude all day), "midnightSun"
(above all day) or "notOnThisDate".

Run: python3 Tests/LightingTests/Reference/solar_reference.py > Tests/LightingTests/Fixtures/solar_reference.json
Needs: ephem 4.2.1 (Tests/Peers/requirements.txt), Python 3.9+ (zoneinfo).
"""
import datetime as dt
import json
import math
import sys
from zoneinfo import ZoneInfo

import ephem

SITES = [
    # name, latitude, longitude, IANA time zone
    ("berlin", 52.52, 13.405, "Europe/Berlin"),
    ("london", 51.5074, -0.1278, "Europe/London"),
    ("new-york", 40.7128, -74.006, "America/New_York"),
    ("los-angeles", 34.0522, -118.2437, "America/Los_Angeles"),
    ("honolulu", 21.3069, -157.8583, "Pacific/Honolulu"),
    ("quito-equator", -0.1807, -78.4678, "America/Guayaquil"),
    ("equator-greenwich", 0.0, 0.0, "UTC"),
    ("singapore", 1.3521, 103.8198, "Asia/Singapore"),
    ("sydney", -33.8688, 151.2093, "Australia/Sydney"),
    ("auckland", -36.8485, 174.7633, "Pacific/Auckland"),
    ("buenos-aires", -34.6037, -58.3816, "America/Argentina/Buenos_Aires"),
    ("cape-town", -33.9249, 18.4241, "Africa/Johannesburg"),
    ("dateline-east", -17.0, 180.0, "Pacific/Fiji"),
    ("dateline-west", 51.0, -180.0, "UTC"),
    ("dateline-east-utc", 51.0, 179.99, "UTC"),
    ("kiritimati", 1.87, -157.4, "Pacific/Kiritimati"),
    ("anchorage", 61.2181, -149.9003, "America/Anchorage"),
    ("reykjavik", 64.1466, -21.9426, "Atlantic/Reykjavik"),
    ("oulu-65n", 65.0, 25.47, "Europe/Helsinki"),
    ("antarctic-65s", -65.0, -64.0, "UTC"),
    ("berlin-utc-date", 52.52, 13.405, "UTC"),
    ("sydney-utc-date", -33.8688, 151.2093, "UTC"),
    ("tromso", 69.6492, 18.9553, "Europe/Oslo"),
    ("murmansk", 68.9585, 33.0827, "Europe/Moscow"),
    ("longyearbyen", 78.2232, 15.6267, "Arctic/Longyearbyen"),
    ("mcmurdo", -77.8463, 166.6683, "Antarctica/McMurdo"),
]

YEAR = 2025
DAYS = [5, 20]

EVENTS = [
    # name, horizon, use_center, rising?
    ("nauticalDawn", "-12", True, True),
    ("civilDawn", "-6", True, True),
    ("sunrise", "-0:34", False, True),
    ("sunset", "-0:34", False, False),
    ("civilDusk", "-6", True, False),
    ("nauticalDusk", "-12", True, False),
]

ALTITUDE_OF_CENTRE = {"-0:34": -0.8333, "-6": -6.0, "-12": -12.0}


def to_ephem(t):
    return ephem.Date(t.astimezone(dt.timezone.utc).replace(tzinfo=None))


def from_ephem(d):
    return d.datetime().replace(tzinfo=dt.timezone.utc)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def state_when_absent(lat, lon, start, end, horizon):
    """Samples the sun's altitude every 5 minutes over the day to tell why there is no event."""
    obs = ephem.Observer()
    obs.lat, obs.lon, obs.pressure = str(lat), str(lon), 0
    sun = ephem.Sun()
    limit = ALTITUDE_OF_CENTRE[horizon]
    altitudes = []
    t = start
    while t <= end:
        obs.date = to_ephem(t)
        sun.compute(obs)
        altitudes.append(math.degrees(sun.alt))
        t += dt.timedelta(minutes=5)
    if max(altitudes) < limit:
        return "polarNight"
    if min(altitudes) > limit:
        return "midnightSun"
    return "notOnThisDate"


def main():
    cases = []
    for name, lat, lon, tz in SITES:
        zone = ZoneInfo(tz)
        for month in range(1, 13):
            for day in DAYS:
                start = dt.datetime(YEAR, month, day, tzinfo=zone)
                end = (dt.datetime(YEAR, month, day) + dt.timedelta(days=1)).replace(tzinfo=zone)
                events = {}
                for event, horizon, use_center, rising in EVENTS:
                    obs = ephem.Observer()
                    obs.lat, obs.lon = str(lat), str(lon)
                    obs.elevation = 0
                    obs.pressure = 0
                    obs.horizon = horizon
                    obs.date = to_ephem(start)
                    sun = ephem.Sun()
                    try:
                        if rising:
                            found = obs.next_rising(sun, use_center=use_center)
                        else:
                            found = obs.next_setting(sun, use_center=use_center)
                        when = from_ephem(found)
                    except (ephem.AlwaysUpError, ephem.NeverUpError):
                        when = None
                    if when is not None and when < end.astimezone(dt.timezone.utc):
                        events[event] = {"utc": iso(when)}
                    else:
                        events[event] = {"utc": None, "state": state_when_absent(lat, lon, start, end, horizon)}
                cases.append({
                    "site": name,
                    "latitude": lat,
                    "longitude": lon,
                    "timeZone": tz,
                    "date": f"{YEAR:04d}-{month:02d}-{day:02d}",
                    "events": events,
                })
    json.dump({
        "generator": "Tests/LightingTests/Reference/solar_reference.py",
        "ephem": ephem.__version__,
        "definition": "events within the local calendar date in timeZone; sunrise/sunset = upper limb at -0:34 without refraction (zenith 90.833 deg); twilight = centre at -6 / -12 deg",
        "cases": cases,
    }, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
