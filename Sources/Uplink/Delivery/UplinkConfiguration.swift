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
