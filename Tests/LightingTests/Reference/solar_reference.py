#!/usr/bin/env python3
"""Generates Tests/LightingTests/Fixtures/solar_reference.json with the `ephem` ephemeris.

The Swift SolarCalculator (NOAA/Meeus) is compared against this independent ephemeris
(VSOP87 theory). Settings match lampd's definitions:

* sunrise/sunset: pressure=0 (no built-in refraction), horizon='-0:34', upper limb
  (use_center=False): the sun's upper limb 34' below the geometric horizon, with ephem's
  semi-diameter of the day (15.8'-16.3'; NOAA's fixed zenith 90.833 deg assumes 16').
  Altitudes are topocentric (observer at sea level, elevation 0, parallax included).
* Each event ephem returns is solved again on ephem's own altitude to 1 ms (refine()):
  ephem's rising/setting loop stops after 7 iterations, short of convergence where the sun
  grazes the horizon.
* civil dawn/dusk: horizon='-6', use_center=True; nautical: horizon='-12', use_center=True.

"The day" is the local calendar date in the site's IANA time zone: an event is recorded
when it falls in [local midnight, next local midnight). Otherwise the value is null and
`state` says why: "polarNight" (sun below the event's altitude all day), "midnightSun"
(above all day) or "notOnThisDate".

Run: python3 Tests/LightingTests/Reference/solar_reference.py > Tests/LightingTests/Fixtures/solar_reference.json
     python3 Tests/LightingTests/Reference/solar_reference.py --daily > Tests/LightingTests/Fixtures/solar_reference_daily.json
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

# Every date of the year, sunrise and sunset (--daily): where the sun grazes the horizon
# (60-70 deg, both hemispheres, midsummer and midwinter), plus two mid-latitude controls.
DAILY_SITES = [
    ("berlin", 52.52, 13.405, "Europe/Berlin"),
    ("ushuaia", -54.8019, -68.303, "America/Argentina/Ushuaia"),
    ("helsinki-60n", 60.1699, 24.9384, "Europe/Helsinki"),
    ("anchorage", 61.2181, -149.9003, "America/Anchorage"),
    ("trondheim", 63.4305, 10.3951, "Europe/Oslo"),
    ("reykjavik", 64.1466, -21.9426, "Atlantic/Reykjavik"),
    ("fairbanks", 64.8378, -147.7164, "America/Anchorage"),
    ("oulu-65n", 65.0, 25.47, "Europe/Helsinki"),
    ("rovaniemi", 66.5, 25.73, "Europe/Helsinki"),
    ("murmansk", 68.9585, 33.0827, "Europe/Moscow"),
    ("tromso", 69.6492, 18.9553, "Europe/Oslo"),
    ("70n", 70.0, -100.0, "UTC"),
    ("antarctic-60s", -60.0, -45.0, "UTC"),
    ("antarctic-62s", -62.2, -58.9, "America/Punta_Arenas"),
    ("antarctic-64s", -64.0, 120.0, "UTC"),
    ("antarctic-65s", -65.0, -64.0, "UTC"),
    ("antarctic-67s", -67.0, 78.0, "UTC"),
    ("antarctic-70s", -70.0, 12.0, "UTC"),
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

CORRECTIONS = []

ALTITUDE_OF_CENTRE = {"-0:34": -0.8333, "-6": -6.0, "-12": -12.0}


def to_ephem(t):
    return ephem.Date(t.astimezone(dt.timezone.utc).replace(tzinfo=None))


def from_ephem(d):
    return d.datetime().replace(tzinfo=dt.timezone.utc)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def refine(lat, lon, horizon, use_center, found):
    """Solves ephem's own altitude for the crossing, to 1 ms (secant method).

    ephem's next_rising/next_setting stop after 7 hour-angle iterations, which is not always
    converged where the sun grazes the horizon; the reference must be the ephemeris' sun on
    the horizon, not the state of that loop. Returns (refined date, correction in seconds)."""
    obs = ephem.Observer()
    obs.lat, obs.lon, obs.elevation, obs.pressure = str(lat), str(lon), 0, 0
    sun = ephem.Sun()
    target = ephem.degrees(horizon)

    def height(d):
        obs.date = d
        sun.compute(obs)
        return sun.alt + (0 if use_center else sun.radius) - target

    x0, x1 = float(found), float(found) + ephem.second
    f0, f1 = height(x0), height(x1)
    for _ in range(50):
        if f1 == f0:
            break
        x2 = x1 - f1 * (x1 - x0) / (f1 - f0)
        x0, f0 = x1, f1
        x1, f1 = x2, height(x2)
        if abs(x1 - x0) < ephem.second / 1000:
            break
    if abs(x1 - float(found)) > 600 * ephem.second or abs(f1) > 5e-6:
        raise RuntimeError(f"no convergence at {lat} {lon} {found}")
    return ephem.Date(x1), (x1 - float(found)) / ephem.second


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


GRAZING_ARCSECONDS = 2.0


def grazing(lat, lon, start, end, horizon, use_center):
    """True when the sun's highest or lowest point near this date is within GRAZING_ARCSECONDS
    of the event's altitude: the rising and the setting are then seconds apart around solar
    noon or midnight, and whether they happen at all is below any ephemeris' accuracy (ephem
    itself may report a setting without the rising that must follow it)."""
    obs = ephem.Observer()
    obs.lat, obs.lon, obs.elevation, obs.pressure = str(lat), str(lon), 0, 0
    sun = ephem.Sun()
    target = ephem.degrees(horizon)
    begin = to_ephem(start) - 0.5
    for find in (obs.next_transit, obs.next_antitransit):
        obs.date = begin
        while True:
            when = find(sun, start=obs.date)
            if when > to_ephem(end) + 0.5:
                break
            obs.date = when
            sun.compute(obs)
            height = sun.alt + (0 if use_center else sun.radius) - target
            if abs(math.degrees(height)) * 3600 < GRAZING_ARCSECONDS:
                return True
            obs.date = when + 0.1
    return False


def event_on_date(lat, lon, start, end, horizon, use_center, rising):
    """{"utc": ...} for the event in [start, end), else {"utc": None, "state": why}."""
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
        refined, correction = refine(lat, lon, horizon, use_center, found)
        CORRECTIONS.append(abs(correction))
        when = from_ephem(refined)
    except (ephem.AlwaysUpError, ephem.NeverUpError):
        when = None
    if when is not None and start.astimezone(dt.timezone.utc) <= when < end.astimezone(dt.timezone.utc):
        found = {"utc": iso(when)}
    else:
        found = {"utc": None, "state": state_when_absent(lat, lon, start, end, horizon)}
    if grazing(lat, lon, start, end, horizon, use_center):
        found["grazing"] = True
    return found


def local_day(zone, date):
    start = dt.datetime(date.year, date.month, date.day, tzinfo=zone)
    end = (dt.datetime(date.year, date.month, date.day) + dt.timedelta(days=1)).replace(tzinfo=zone)
    return start, end


DEFINITION = ("events within the local calendar date in timeZone; sunrise/sunset = the sun's upper limb "
              "(ephem's semi-diameter) at -0:34, topocentric, sea level, no refraction model (pressure 0); "
              "twilight = centre at -6 / -12 deg; each ephem event solved on ephem's altitude to 1 ms; "
              "grazing: the sun's extreme altitude within 2 arcsec of the event's, existence undecidable")


def monthly():
    cases = []
    for name, lat, lon, tz in SITES:
        zone = ZoneInfo(tz)
        for month in range(1, 13):
            for day in DAYS:
                start, end = local_day(zone, dt.date(YEAR, month, day))
                events = {}
                for event, horizon, use_center, rising in EVENTS:
                    events[event] = event_on_date(lat, lon, start, end, horizon, use_center, rising)
                cases.append({
                    "site": name,
                    "latitude": lat,
                    "longitude": lon,
                    "timeZone": tz,
                    "date": f"{YEAR:04d}-{month:02d}-{day:02d}",
                    "events": events,
                })
    return {"cases": cases}


def daily():
    """Sunrise and sunset on every date of YEAR at DAILY_SITES, compactly: per site, one list
    per event with a UTC time (ms) or the state, index 0 = 1 January; "~" before a value
    marks a grazing date (see grazing())."""
    sites = []
    for name, lat, lon, tz in DAILY_SITES:
        zone = ZoneInfo(tz)
        entry = {"site": name, "latitude": lat, "longitude": lon, "timeZone": tz, "year": YEAR}
        for event, horizon, use_center, rising in EVENTS:
            if event not in ("sunrise", "sunset"):
                continue
            values = []
            date = dt.date(YEAR, 1, 1)
            while date.year == YEAR:
                start, end = local_day(zone, date)
                found = event_on_date(lat, lon, start, end, horizon, use_center, rising)
                values.append(("~" if found.get("grazing") else "") + (found["utc"] or found["state"]))
                date += dt.timedelta(days=1)
            entry[event] = values
        sites.append(entry)
    return {"sites": sites}


def main():
    body = daily() if sys.argv[1:] == ["--daily"] else monthly()
    json.dump({
        "generator": "Tests/LightingTests/Reference/solar_reference.py" + (" --daily" if "sites" in body else ""),
        "ephem": ephem.__version__,
        "definition": DEFINITION,
        **body,
    }, sys.stdout, indent=None if "sites" in body else 1, sort_keys=True)
    sys.stdout.write("\n")
    print(f"ephem events solved: {len(CORRECTIONS)}; largest correction to ephem's own rising/setting: "
          f"{max(CORRECTIONS, default=0):.3f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
