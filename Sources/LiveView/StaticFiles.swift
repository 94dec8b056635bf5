import Foundation

/// The files under `/static/`: Leaflet and its marker-cluster plugin from Debian's packages, and the
/// live view's own script and style sheet. Read once at start into memory; nothing else is served.
struct StaticFiles: Sendable {
    struct File: Sendable {
        var bytes: [UInt8]
        var contentType: String
    }

    private(set) var files: [String: File] = [:]

    /// The Debian packages' directory.
    static let leafletDirectory = "/usr/share/javascript/leaflet"
    static let leafletFiles = ["leaflet.js", "leaflet.css", "leaflet.markercluster.js", "MarkerCluster.css", "MarkerCluster.Default.css"]

    init(leafletDirectory: String, own: [String: String]) throws(LiveViewError) {
        for name in Self.leafletFiles {
            guard let data = FileManager.default.contents(atPath: leafletDirectory + "/" + name) else {
                throw LiveViewError(
                    "\(leafletDirectory)/\(name) is missing: install Debian's libjs-leaflet and libjs-leaflet.markercluster "
                        + "(apt-get install libjs-leaflet libjs-leaflet.markercluster), or give --leaflet-directory")
            }
            files[name] = File(bytes: Array(data), contentType: Self.contentType(name))
        }
        let images = (try? FileManager.default.contentsOfDirectory(atPath: leafletDirectory + "/images")) ?? []
        for name in images where name.hasSuffix(".png") {
            if let data = FileManager.default.contents(atPath: leafletDirectory + "/images/" + name) {
                files["images/" + name] = File(bytes: Array(data), contentType: "image/png")
            }
        }
        for (name, text) in own { files[name] = File(bytes: Array(text.utf8), contentType: Self.contentType(name)) }
    }

    subscript(name: String) -> File? { files[name] }

    static func contentType(_ name: String) -> String {
        if name.hasSuffix(".js") { return "text/javascript; charset=utf-8" }
        if name.hasSuffix(".css") { return "text/css; charset=utf-8" }
        if name.hasSuffix(".png") { return "image/png" }
        return "application/octet-stream"
    }
}
