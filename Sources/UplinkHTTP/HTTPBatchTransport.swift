import AsyncHTTPClient
import FoundationEssentials
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization
import Uplink

/// HTTPS POST of batches with AsyncHTTPClient (docs/uplink.md §6): the configured CA bundle,
/// optional client certificate (mutual TLS), connect and request timeouts, no redirects, and
/// the body compressed with zlib when `compress` is on.
public final class HTTPBatchTransport: BatchTransport {
    let client: HTTPClient
    let configuration: UplinkConfiguration
    /// Longest acknowledgement body read; a longer answer is not an acknowledgement.
    static let maximumResponseBytes = 64 * 1024

    /// - Throws: `UplinkError` (`invalidURL`) when the URL cannot be used (AsyncHTTPClient would
    ///   trap on a port above 65535), (`tlsFileUnreadable`) when a certificate or key file cannot be loaded.
    /// - Parameter longestPullHold: the longest the receiver may hold a pull of the desired state
    ///   (`[downlink] long_poll`): the read timeout allows it. A batch's own deadline stays
    ///   connect + request timeout, so batches are not waited on longer.
    public init(configuration: UplinkConfiguration, longestPullHold: Duration = .zero) throws {
        if let problem = UplinkConfiguration.endpointProblem(configuration.url) {
            throw UplinkError(.invalidURL, "[uplink] url \(configuration.url.absoluteString): \(problem)")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let ca = configuration.caBundlePath {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
            } catch {
                throw UplinkError(.tlsFileUnreadable, "[uplink] ca_bundle \(ca) is not a PEM file of certificates (\(error))")
            }
        }
        if let certificate = configuration.clientCertificatePath, let key = configuration.clientKeyPath {
            do {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            } catch {
                throw UplinkError(.tlsFileUnreadable, "[uplink] client_certificate \(certificate) is not a PEM certificate chain (\(error))")
            }
            do {
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            } catch {
                throw UplinkError(.tlsFileUnreadable, "[uplink] client_key \(key) is not a PEM private key (\(error))")
            }
        }
        let timeout = HTTPClient.Configuration.Timeout(
            connect: TimeAmount(configuration.connectTimeout),
            read: TimeAmount(configuration.requestTimeout + max(longestPullHold, .zero)))
        var clientConfiguration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow, timeout: timeout)
        clientConfiguration.httpVersion = .http1Only
        self.client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: clientConfiguration)
        self.configuration = configuration
    }

    public func deliver(_ batch: SignedBatch, deviceID: String) async -> (outcome: DeliveryOutcome, wireBytes: Int) {
        let body = configuration.compress ? BodyCompression.deflate(batch.bytes) : batch.bytes
        var request = HTTPClientRequest(url: configuration.url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: #"application/cose; cose-type="cose-sign1""#)
        if configuration.compress { request.headers.add(name: "Content-Encoding", value: BodyCompression.contentEncoding) }
        request.headers.add(name: "X-Lampd-Device", value: deviceID)
        request.headers.add(name: "X-Lampd-Sequence", value: String(batch.sequence))
        request.headers.add(name: "Content-Length", value: String(body.count))
        let sent = RequestSent()
        request.body = .stream(WatchedBody(buffer: ByteBuffer(bytes: body), sent: sent), length: .known(Int64(body.count)))
        let requestBytes = Self.requestHeadBytes(request, url: configuration.url) + body.count
        // Only bytes that went out count against `max_bytes_per_day` (issue 11 #13): a refused or
        // timed-out connection sends no request.
        var wireBytes: Int { sent.value ? requestBytes : 0 }
        let deadline = NIODeadline.now() + TimeAmount(configuration.connectTimeout + configuration.requestTimeout)
        do {
            let response = try await client.execute(request, deadline: deadline)
            let responseHead = Self.responseHeadBytes(response)
            do {
                let bytes = try await response.body.collect(upTo: Self.maximumResponseBytes)
                let outcome = DeliveryOutcome.classify(
                    status: Int(response.status.code), body: Array(bytes.readableBytesView),
                    retryAfterHeader: response.headers.first(name: "Retry-After"), batch: batch, now: Date())
                return (outcome, wireBytes + responseHead + bytes.readableBytes)
            } catch let error as NIOTooManyBytesError {
                return (.retry(reason: "the answer is longer than \(Self.maximumResponseBytes) bytes: not an acknowledgement (\(error))", retryAfter: nil),
                        wireBytes + responseHead + Self.maximumResponseBytes)
            }
        } catch {
            return (.retry(reason: Self.describe(error), retryAfter: nil), wireBytes)
        }
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    /// Network failures in a technician's words.
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "connection timed out (receiver unreachable)"
            case .readTimeout, .deadlineExceeded: return "no answer within the request timeout"
            case .remoteConnectionClosed: return "the receiver closed the connection before answering"
            default: return "HTTP: \(error)"
            }
        }
        if error is NIOSSLError || String(describing: error).contains("handshake") || String(describing: type(of: error)).contains("SSL") {
            return "TLS failed: \(error) — check [uplink] ca_bundle and the receiver's certificate"
        }
        return "network: \(error)"
    }

    /// Bytes of the request line and headers as they go on the wire (AsyncHTTPClient adds Host).
    static func requestHeadBytes(_ request: HTTPClientRequest, url: URL, method: String = "POST") -> Int {
        var path = url.path.isEmpty ? "/" : url.path
        if let query = url.query { path += "?\(query)" }
        var count = "\(method) \(path) HTTP/1.1\r\n".utf8.count
        count += "Host: \(url.host ?? "")\(url.port.map { ":\($0)" } ?? "")\r\n".utf8.count
        for (name, value) in request.headers { count += name.utf8.count + 2 + value.utf8.count + 2 }
        return count + 2
    }

    /// Bytes of the status line and headers of a response.
    static func responseHeadBytes(_ response: HTTPClientResponse) -> Int {
        var count = "HTTP/1.1 \(response.status.code) \(response.status.reasonPhrase)\r\n".utf8.count
        for (name, value) in response.headers { count += name.utf8.count + 2 + value.utf8.count + 2 }
        return count + 2
    }
}

/// Whether AsyncHTTPClient took the request body: it does so only once a connection is open and
/// the request head was written to it, so until then no byte of the request left the board.
final class RequestSent: Sendable {
    private let taken = Atomic<Bool>(false)

    func mark() { taken.store(true, ordering: .relaxed) }
    var value: Bool { taken.load(ordering: .relaxed) }
}

/// A request body of one buffer that marks `sent` when AsyncHTTPClient pulls it.
struct WatchedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let buffer: ByteBuffer
    let sent: RequestSent

    struct AsyncIterator: AsyncIteratorProtocol {
        var buffer: ByteBuffer?
        let sent: RequestSent

        mutating func next() async -> ByteBuffer? {
            guard let buffer else { return nil }
            self.buffer = nil
            sent.mark()
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer, sent: sent) }
}
