import Foundation

/// The live view's templates, script and style sheet (Sources/LiveView/Templates), read from the
/// resource directory SwiftPM puts beside the executable, or from the installed copy.
enum Templates {
    /// Where they are looked for, in this order.
    static var directories: [String] {
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent().path
        return [executable, Bundle.main.bundlePath, Bundle.main.bundleURL.deletingLastPathComponent().path].map {
            $0 + "/lampd_LiveView.resources/Templates"
        } + ["/usr/share/lampd/live-view"]
    }

    /// Every file: name → text.
    static func load() throws(LiveViewError) -> [String: String] {
        for directory in directories {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory), names.contains("map.mustache") else { continue }
            var files: [String: String] = [:]
            for name in names {
                if let text = try? String(contentsOfFile: directory + "/" + name, encoding: .utf8) { files[name] = text }
            }
            return files
        }
        throw LiveViewError("the live view's templates are not installed (looked in \(directories.joined(separator: ", ")))")
    }
}
