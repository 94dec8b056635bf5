import Glibc

/// Where the sun is at one instant, seen from the centre of the Earth: apparent right
/// ascension and declination, distance, and the nutation part of sidereal time.
///
/// Meeus, *Astronomical Algorithms* (2nd ed.): the Earth's orbit from VSOP87 (ch. 32,
/// ``EarthOrbitSeries``), conversion to FK5 and aberration (ch. 25), nutation from the four
/// largest IAU 1980 terms (ch. 22, 0.5″), sidereal time (ch. 12, ``meanSiderealRadians(unixSeconds:)``). The orbit is evaluated in
/// dynamical time: UT + ΔT (``deltaTSeconds(unixSeconds:)``). About 1″ in declination — the
/// level needed where the sun grazes the horizon (docs/lighting.md, "Sun times").
struct SolarPosition {
    let rightAscensionRadians: Double
    let declinationRadians: Double
    let distanceAU: Double
    /// Apparent minus mean sidereal time (the nutation in right ascension).
    let equationOfEquinoxesRadians: Double

    /// The sun's angular radius (959.63″ at 1 au).
    var semidiameterDegrees: Double { 959.63 / distanceAU / 3600 }
    /// How much lower the sun stands for an observer on the surface than from the Earth's
    /// centre, at altitude 0 (8.794″ at 1 au).
    var horizontalParallaxDegrees: Double { 8.794 / distanceAU / 3600 }

    init(unixSeconds: Double) {
        let rad = Double.pi / 180
        let arcsecond = rad / 3600
        let daysUT = unixSeconds / 86_400 + 2_440_587.5 - 2_451_545
        // Dynamical time for the orbit.
        let centuries = (daysUT + Self.deltaTSeconds(unixSeconds: unixSeconds) / 86_400) / 36_525
        let millennia = centuries / 10

        let earthLongitude = EarthOrbitSeries.evaluate(EarthOrbitSeries.longitude, millennia: millennia)
        let earthLatitude = EarthOrbitSeries.evaluate(EarthOrbitSeries.latitude, millennia: millennia)
        distanceAU = EarthOrbitSeries.evaluate(EarthOrbitSeries.distance, millennia: millennia)

        // Geocentric: the opposite direction; then VSOP87's dynamical frame to FK5.
        var longitude = earthLongitude + .pi
        let latitude = -earthLatitude
        let shiftedLongitude = longitude - (1.397 * centuries + 0.00031 * centuries * centuries) * rad
        longitude += -0.09033 * arcsecond
        let fk5Latitude = latitude + 0.03916 * arcsecond * (cos(shiftedLongitude) - sin(shiftedLongitude))

        // Nutation: the moon's node Ω and the mean longitudes of sun and moon.
        let node = (125.04452 - 1934.136261 * centuries) * rad
        let sunMean = (280.4665 + 36_000.7698 * centuries) * rad
        let moonMean = (218.3165 + 481_267.8813 * centuries) * rad
        let nutationLongitude = (-17.20 * sin(node) - 1.32 * sin(2 * sunMean) - 0.23 * sin(2 * moonMean) + 0.21 * sin(2 * node)) * arcsecond
        let nutationObliquity = (9.20 * cos(node) + 0.57 * cos(2 * sunMean) + 0.10 * cos(2 * moonMean) - 0.09 * cos(2 * node)) * arcsecond
        let meanObliquity = (23 + 26.0 / 60 + 21.448 / 3600) * rad
            - (46.8150 * centuries + 0.00059 * centuries * centuries - 0.001813 * centuries * centuries * centuries) * arcsecond
        let obliquity = meanObliquity + nutationObliquity

        let aberration = -20.4898 * arcsecond / distanceAU
        let apparentLongitude = longitude + nutationLongitude + aberration

        rightAscensionRadians = atan2(
            sin(apparentLongitude) * cos(obliquity) - tan(fk5Latitude) * sin(obliquity),
            cos(apparentLongitude)
        )
        declinationRadians = asin(
            sin(fk5Latitude) * cos(obliquity) + cos(fk5Latitude) * sin(obliquity) * sin(apparentLongitude)
        )

        equationOfEquinoxesRadians = nutationLongitude * cos(obliquity)
    }

    /// Greenwich mean sidereal time in radians at `unixSeconds` (UT). The day count is reduced
    /// first: 360.98…° × days would lose precision in the thousands of turns.
    static func meanSiderealRadians(unixSeconds: Double) -> Double {
        let daysUT = unixSeconds / 86_400 + 2_440_587.5 - 2_451_545
        let centuriesUT = daysUT / 36_525
        let turns = 0.98564736629 * daysUT
        let degrees = 280.46061837 + 360 * daysUT.truncatingRemainder(dividingBy: 1)
            + (turns - 360 * (turns / 360).rounded(.down))
            + 0.000387933 * centuriesUT * centuriesUT - centuriesUT * centuriesUT * centuriesUT / 38_710_000
        return degrees * .pi / 180
    }

    /// ΔT = TT − UT in seconds, Espenak & Meeus (NASA, 2006) polynomials: from 2005 to 2050
    /// within a second or two of what was observed; outside, the long-term parabola (a ΔT
    /// error of a minute moves the sun by 2.5″ along its path).
    static func deltaTSeconds(unixSeconds: Double) -> Double {
        let year = 1970 + unixSeconds / 31_556_952
        if (2005..<2050).contains(year) {
            let t = year - 2000
            return 62.92 + 0.32217 * t + 0.005589 * t * t
        }
        if (1986..<2005).contains(year) {
            let t = year - 2000
            return 63.86 + 0.3345 * t - 0.060374 * t * t + 0.0017275 * t * t * t
                + 0.000651814 * t * t * t * t + 0.00002373599 * t * t * t * t * t
        }
        let u = (year - 1820) / 100
        let parabola = -20 + 32 * u * u
        return parabola.isFinite ? min(parabola, 1e9) : 0
    }
}
