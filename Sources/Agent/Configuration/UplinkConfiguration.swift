import FoundationEssentials

/// `[uplink]`: where and how signed batches go upstream (docs/uplink.md §6).
///
/// Without this section lampd keeps everything in the spool and sends nothing.
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

    static let keys = ["url", "ca_bundle", "client_certificate", "client_key", "batch_interval", "max_batch_records",
                       "connect_timeout", "request_timeout", "initial_backoff", "max_backoff", "max_bytes_per_day",
                       "compress", "allow_plain_http"]

    /// Reads `[uplink]`; relative file paths are relative to the configuration file's directory.
    static func read(_ table: TOMLReader, configurationDirectory: String) -> UplinkConfiguration? {
        func path(_ key: String) -> String? {
            guard let text = table.string(key) else { return nil }
            let resolved = ConfigurationPath.resolve(text, relativeTo: configurationDirectory)
            if !FileManager.default.isReadableFile(atPath: resolved) {
                table.report(key, "\(resolved) does not exist or cannot be read by lampd")
            }
            table.pullIn(key, resolvedPath: resolved)
            return resolved
        }
        let urlText = table.string("url", required: true)
        let allowPlainHTTP = table.bool("allow_plain_http") ?? false
        let url = urlText.flatMap { checkedURL($0, allowPlainHTTP: allowPlainHTTP, table: table) }
        let caBundle = path("ca_bundle")
        let certificate = path("client_certificate")
        let key = path("client_key")
        if (certificate == nil) != (key == nil) {
            table.report(certificate == nil ? "client_certificate" : "client_key",
                         "mutual TLS needs both client_certificate and client_key")
        }
        let interval = table.duration("batch_interval", in: .seconds(1)...(.seconds(86_400)))
        let maxRecords = table.int("max_batch_records", in: 1...100_000)
        let connect = table.duration("connect_timeout", in: .milliseconds(100)...(.seconds(300)))
        let request = table.duration("request_timeout", in: .seconds(1)...(.seconds(3600)))
        let initial = table.duration("initial_backoff", in: .milliseconds(10)...(.seconds(3600)))
        let maximum = table.duration("max_backoff", in: .milliseconds(10)...(.seconds(86_400)))
        if let initial, let maximum, maximum < initial {
            table.report("max_backoff", "must not be shorter than initial_backoff (\(DurationText.format(initial)))")
        }
        let cap = table.int("max_bytes_per_day", in: 10_000...Int(Int32.max))
        let compress = table.bool("compress")
        table.rejectUnknownKeys()

        guard let url else { return nil }
        var configuration = UplinkConfiguration(url: url)
        configuration.caBundlePath = caBundle
        configuration.clientCertificatePath = certificate
        configuration.clientKeyPath = key
        if let interval { configuration.batchInterval = interval }
        if let maxRecords { configuration.maxBatchRecords = maxRecords }
        if let connect { configuration.connectTimeout = connect }
        if let request { configuration.requestTimeout = request }
        if let initial { configuration.initialBackoff = initial }
        if let maximum { configuration.maxBackoff = maximum }
        configuration.maxBytesPerDay = cap
        if let compress { configuration.compress = compress }
        return configuration
    }

    /// An `https://` URL with a host; plain `http://` only to this machine (a local proxy, tests)
    /// or with `allow_plain_http = true`.
    static func checkedURL(_ text: String, allowPlainHTTP: Bool, table: TOMLReader) -> URL? {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
            table.report("url", "\"\(text)\" is not a URL; write e.g. \"https://ingest.city.example/v1/batches\"")
            return nil
        }
        switch scheme {
        case "https":
            return url
        case "http":
            let loopback = ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host.lowercased())
            if loopback || allowPlainHTTP { return url }
            table.report("url", "plain http sends readings unencrypted over the network; use https, or set allow_plain_http = true if a VPN protects the link")
            return nil
        default:
            table.report("url", "scheme \"\(scheme)\" is not supported; use https")
            return nil
        }
    }
}
