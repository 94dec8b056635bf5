import Agent
import Foundation
import Telemetry
import Testing

/// The small replacements for full-Foundation APIs that lampd does not link.
@Suite("Support without Foundation")
struct SupportTests {
    @Test("paths join and split like NSString's path methods")
    func paths() {
        for (directory, name) in [("/var/lib/lampd", "spool.sqlite"), ("/var/lib/lampd/", "spool.sqlite"), ("", "x.toml"),
                                  ("/", "etc"), ("conf", "schedule.json"), ("/a", "b/c")] {
            #expect(FilePaths.join(directory, name) == (directory as NSString).appendingPathComponent(name))
        }
        for path in ["/a/b", "/a", "/a/b/", "a/b", "/", "./lampd.toml", "/etc/lampd/lampd.toml"] {
            #expect(FilePaths.directory(of: path) == (path as NSString).deletingLastPathComponent, "\(path)")
        }
        // A bare file name has no directory part. (swift-corelibs-foundation's NSString traps on
        // these, so they cannot be compared with it.)
        #expect(FilePaths.directory(of: "lampd.toml") == "")
        #expect(FilePaths.directory(of: "a") == "")
    }

    @Test("HTTP dates in all three forms of RFC 9110 §5.6.7")
    func httpDates() throws {
        let expected = Date(timeIntervalSince1970: 784_111_777) // 1994-11-06T08:49:37Z
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == expected)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == expected)
        #expect(HTTPDate.parse("Sun Nov  6 08:49:37 1994") == expected)
        #expect(HTTPDate.parse("Wed, 29 Feb 2028 23:59:59 GMT") == Date(timeIntervalSince1970: 1_835_481_599))
        for bad in ["", "soon", "Sun, 06 Nov 1994 08:49:37 CET", "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
                    "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:49 GMT", "Sun, 6 Nov 1994 08:49:37 GMT"] {
            #expect(HTTPDate.parse(bad) == nil, "\(bad)")
        }
    }

    @Test("HTTP dates agree with Foundation's DateFormatter over many days")
    func httpDatesAgainstFoundation() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        var instant = 0.0
        while instant < 4_102_444_800 { // 1970 … 2100
            let date = Date(timeIntervalSince1970: instant)
            #expect(HTTPDate.parse(formatter.string(from: date)) == date)
            instant += 86_400 * 13 + 3_607
        }
    }

    @Test("file errors read as errno text and path")
    func fileErrors() {
        do {
            try FileManager.default.createDirectory(atPath: "/proc/no-such-dir/x", withIntermediateDirectories: true)
            Issue.record("creating a directory under /proc should fail")
        } catch {
            #expect(SystemErrorText.describe(error) == "No such file or directory (/proc/no-such-dir)")
        }
    }
}
