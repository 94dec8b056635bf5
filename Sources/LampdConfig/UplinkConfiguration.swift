import FoundationEssentials
import Telemetry
import Uplink
import Clocks

/// `[uplink]`: where and how signed batches go upstream (docs/uplink.md §6).
///
/// Without this section lampd keeps everything in the spool and sends nothing. The settings
/// themselves are `Uplink.UplinkConfiguration`; reading them from TOML is here.
extension UplinkConfiguration {
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

    /// An `https://` URL with a host and a port in 1…65535 (`UplinkConfiguration.endpointProblem`);
    /// plain `http://` only to this machine (a local proxy, tests) or with `allow_plain_http = true`.
    static func checkedURL(_ text: String, allowPlainHTTP: Bool, table: TOMLReader) -> URL? {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
            table.report("url", "\"\(text)\" is not a URL; write e.g. \"https://ingest.city.example/v1/batches\"")
            return nil
        }
        if let problem = UplinkConfiguration.endpointProblem(url) {
            table.report("url", problem)
            return nil
        }
        let loopback = ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host.lowercased())
        if scheme == "http" && !loopback && !allowPlainHTTP {
            table.report("url", "plain http sends readings unencrypted over the network; use https, or set allow_plain_http = true if a VPN protects the link")
            return nil
        }
        return url
    }
}
