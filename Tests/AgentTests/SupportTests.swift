import Agent
import Foundation
import Telemetry
import Testing
import SystemSupport

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
