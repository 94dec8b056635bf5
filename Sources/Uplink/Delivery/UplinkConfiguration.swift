import FoundationEssentials

/// The settings of the uplink: where and how signed batches go upstream (docs/uplink.md §6).
///
/// Plain values, already checked: lampd reads them from `[uplink]` in its configuration file
/// (`Agent`); the transport (`UplinkHTTP`) and the service read them from here.
public struct UplinkConfiguration: Sendable, Equatable {
    /// The receiver's endpoint, e.g. `https://ingest.city.example/v1/batches`.
    public var url: URL
    /// PEM file of the certificate authorities that may sign the receiver's certificate;
    /// nil trusts the system's store.
    public var caBundlePath: String? = nil
    /// Client certificate chain (PEM) for mutual TLS; set together with `clientKeyPath`.
    public var clientCertificatePath: String? = nil
    /// Private key (PEM) of the client certificate.
    public var clientKeyPath: String? = nil
    /// A batch leaves at the latest this long after the previous one.
    public var batchInterval: Duration = .seconds(60)
    /// At most this many records in one batch (a backlog drains in batches of this size).
    public var maxBatchRecords: Int = 5_000
    /// Time allowed to open the TCP + TLS connection.
    public var connectTimeout: Duration = .seconds(10)
    /// Time allowed for one whole request (sending the batch and reading the answer).
    public var requestTimeout: Duration = .seconds(30)
    /// First wait after a failed attempt; doubles per failure, randomised (full jitter).
    public var initialBackoff: Duration = .seconds(2)
    /// Longest wait between attempts (and the wait after a rejected batch).
    public var maxBackoff: Duration = .seconds(300)
    /// Cap on bytes on the wire per UTC day (requests and responses, headers included);
    /// nil = no cap. Over the cap only urgent events leave.
    public var maxBytesPerDay: Int? = nil
    /// Compress request bodies (`Content-Encoding: deflate`).
    public var compress: Bool = true

    public init(url: URL) {
        self.url = url
    }
}

extension UplinkConfiguration {
    /// Ports a TCP connection can use.
    public static let tcpPorts = 1...65_535

    /// What makes `url` unusable as the receiver's endpoint, in a technician's words, or nil when
    /// the HTTP transport can use it: scheme `https` (or `http`), a host, a port in 1…65535 and no
    /// user name or password. AsyncHTTPClient traps on a port above 65535, so every URL from
    /// outside (`[uplink] url`, `lamp-fleet --url`) passes this check before a client sees it.
    public static func endpointProblem(_ url: URL) -> String? {
        guard let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http" else {
            return "scheme \"\(url.scheme ?? "")\" is not supported; use https"
        }
        guard let host = url.host, !host.isEmpty else {
            return "\"\(url.absoluteString)\" has no host; write e.g. \"https://ingest.city.example/v1/batches\""
        }
        if let port = url.port, !tcpPorts.contains(port) {
            return "port \(port) is not a TCP port; the port must be \(tcpPorts.lowerBound)…\(tcpPorts.upperBound)"
        }
        if url.user != nil || url.password != nil {
            return "a user name or password in the URL is not supported (the receiver knows the board by its signature and TLS client certificate); remove the part before '@'"
        }
        return nil
    }
}
